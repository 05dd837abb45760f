// A streaming RFC 4180 reader: pulls big blocks from a byte source and hands out records,
// in batches, as views into its own buffer, so a record costs no allocation.
// Accepts a UTF-8 BOM, LF and CRLF line ends, a missing final newline, any one-byte
// delimiter. Lenient where real files are sloppy (a quote inside an unquoted field is a
// literal; blank lines are skipped); a record it cannot read is returned flagged with its
// line number and reading goes on. Not thread-safe; one reader per pass over a file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kpid::collectors::csv {

// Fills `buffer` with up to `capacity` bytes: returns the count, 0 at the end of the data,
// or a negative value to abandon the read (I/O error, timeout, stop; the caller keeps the
// reason).
using ReadFn = std::function<std::ptrdiff_t(char* buffer, std::size_t capacity)>;

struct ReaderOptions {
  char delimiter = ',';
  std::size_t block_size = std::size_t{1} << 20;
  // A record longer than this (usually an unbalanced quote) is reported as malformed and
  // skipped up to the end of its first line, which bounds the reader's memory.
  std::size_t max_record_size = std::size_t{16} << 20;
  // False: the byte-at-a-time parser only. Same results; tests compare the two.
  bool vectorized = true;
};

enum class RecordError {
  kNone,
  kBadQuote,           // text between a closing quote and the next delimiter
  kUnterminatedQuote,  // a quoted field still open at the end of the data
  kTooLong,            // longer than max_record_size
};

struct Record {
  // Unquoted field values, valid until the next call to Next(). Empty for kUnterminatedQuote
  // and kTooLong; unreliable for kBadQuote.
  std::span<const std::string_view> fields;
  std::uint64_t line = 0;  // the physical line (1-based) where the record starts
  RecordError error = RecordError::kNone;
};

// A message for a record error, without the line number: "unterminated quote".
std::string_view RecordErrorText(RecordError error);

class Reader {
 public:
  enum class Status { kRecord, kEnd, kAborted };

  explicit Reader(ReadFn read, ReaderOptions options = {});
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // The next records, as many as the buffer holds (up to a few hundred), valid until the
  // next call; kEnd after the last one, kAborted when the ReadFn returned < 0. Cheaper
  // per record than Next().
  Status NextBatch(std::span<const Record>& records);
  // One record at a time. May be mixed with NextBatch(), which then first hands out the
  // rest of Next()'s batch.
  Status Next(Record& record);

  std::uint64_t bytes_read() const { return bytes_read_; }

 private:
  enum class Parse { kRecord, kBlank, kNeedMore, kSlow };

  static constexpr std::size_t kBatchSize = 256;

  // The fast path, into batch_: structural characters found 64 bytes at a time as bit
  // masks, quotes resolved by a prefix XOR. Handles records whose quotes are all RFC 4180
  // quoted fields; anything else, and the last record of the data, goes to ParseSlow().
  Parse ParseFast();
  // A byte-at-a-time state machine with the lenient rules; also the reference semantics.
  Parse ParseSlow(Record& record);
  // Starts the fast-path cursor at begin_.
  void ResetChunks();
  // Enlarges fast_fields_, moving the pointers into it and the batch's fields along.
  void GrowFields(std::string_view*& out, std::string_view*& record_fields,
                  std::string_view*& out_end, std::size_t records);
  // ParseSlow()'s record, which ends before `next` and spans `lines` lines.
  void Finish(Record& record, RecordError error, std::uint64_t lines, const char* next);
  // Turns the doubled quotes of `value`, a field in the buffer at `base`, into single ones.
  static void Unescape(char* base, std::string_view& value);
  // Reads more data behind the unconsumed bytes, growing the buffer when a record fills
  // it. False when the ReadFn abandoned the read.
  bool Fill();
  // Skips the record that starts at begin_ up to the end of its first line.
  void Resync();

  ReadFn read_;
  ReaderOptions options_;
  // capacity_ usable bytes, then a padding that vector loads may read past the data.
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;  // first unconsumed byte
  std::size_t end_ = 0;    // end of the data in the buffer
  bool eof_ = false;
  bool started_ = false;    // BOM handled
  bool skip_line_ = false;  // discarding the rest of an overlong line
  std::uint64_t line_ = 1;  // line of the byte at begin_
  std::uint64_t bytes_read_ = 0;

  // Fast-path cursor: the 64-byte chunk at chunk_, its bits not consumed yet, and whether
  // the previous chunk ended inside quotes (all ones) or not.
  bool chunks_valid_ = false;
  std::size_t chunk_ = 0;
  std::uint64_t structurals_ = 0;
  std::uint64_t quotes_ = 0;
  std::uint64_t inside_carry_ = 0;
  // The record being parsed: its fields with doubled quotes (indexes), whether it has
  // quoted fields, and the newlines inside them.
  std::vector<std::size_t> escaped_;
  bool quoted_record_ = false;
  std::uint64_t newlines_ = 0;

  std::vector<std::string_view> fields_;       // ParseSlow()'s
  std::vector<std::string_view> fast_fields_;  // ParseFast()'s, for a whole batch
  std::vector<Record> batch_;                  // kBatchSize entries, batch_size_ in use
  std::size_t batch_size_ = 0;
  std::span<const Record> current_;  // Next()'s batch and its position in it
  std::size_t next_ = 0;
};

}  // namespace kpid::collectors::csv
