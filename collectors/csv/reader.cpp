#include "collectors/csv/reader.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace kpid::collectors::csv {
namespace {

// Vector loads may read this far past the end of the data; the buffer is padded for it.
constexpr std::size_t kPadding = 64;

// The first byte in [p, end) that is the delimiter, a newline or a quote; `end` if none.
// Reads up to 15 bytes past `end` (inside the padding) and ignores them.
inline const char* FindStructural(const char* p, const char* end, char delimiter) {
#if defined(__SSE2__)
  const __m128i delimiters = _mm_set1_epi8(delimiter);
  const __m128i newlines = _mm_set1_epi8('\n');
  const __m128i quotes = _mm_set1_epi8('"');
  while (p < end) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hits = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(bytes, delimiters), _mm_cmpeq_epi8(bytes, newlines)),
        _mm_cmpeq_epi8(bytes, quotes));
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(hits));
    const auto left = end - p;
    if (left < 16) mask &= (1u << left) - 1u;
    if (mask != 0) return p + __builtin_ctz(mask);
    p += 16;
  }
  return end;
#else
  for (; p < end; ++p) {
    if (*p == delimiter || *p == '\n' || *p == '"') return p;
  }
  return end;
#endif
}

inline std::string_view View(const char* begin, const char* end) {
  return {begin, static_cast<std::size_t>(end - begin)};
}

// The field [begin, end) without the '\r' of a CRLF line end.
inline std::string_view LastField(const char* begin, const char* end) {
  if (end > begin && end[-1] == '\r') --end;
  return View(begin, end);
}

struct ChunkMasks {
  std::uint64_t structurals;  // delimiters and newlines outside quotes
  std::uint64_t quotes;
};

// Masks of the 64 bytes at `p`, of which the first `left` are data. `inside` is all ones
// when `p` is inside quotes, and is updated for the next chunk. Delimiters and newlines
// share a mask: the parser tells them apart by looking at the byte.
inline ChunkMasks ScanChunk(const char* p, std::size_t left, char delimiter,
                            std::uint64_t& inside) {
  std::uint64_t separators = 0;
  std::uint64_t quotes = 0;
#if defined(__SSE2__)
  const __m128i delimiter_bytes = _mm_set1_epi8(delimiter);
  const __m128i newline_bytes = _mm_set1_epi8('\n');
  const __m128i quote_bytes = _mm_set1_epi8('"');
  auto load = [p](int i) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + std::ptrdiff_t{16} * i));
  };
  auto separator_bits = [&](__m128i bytes) {
    return static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_or_si128(
        _mm_cmpeq_epi8(bytes, delimiter_bytes), _mm_cmpeq_epi8(bytes, newline_bytes)))));
  };
  auto quote_bits = [&](__m128i bytes) {
    return static_cast<std::uint64_t>(
        static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, quote_bytes))));
  };
  const __m128i b0 = load(0);
  const __m128i b1 = load(1);
  const __m128i b2 = load(2);
  const __m128i b3 = load(3);
  separators = separator_bits(b0) | separator_bits(b1) << 16 | separator_bits(b2) << 32 |
               separator_bits(b3) << 48;
  quotes = quote_bits(b0) | quote_bits(b1) << 16 | quote_bits(b2) << 32 | quote_bits(b3) << 48;
#else
  for (unsigned i = 0; i < 64; ++i) {
    separators |= std::uint64_t{p[i] == delimiter || p[i] == '\n'} << i;
    quotes |= std::uint64_t{p[i] == '"'} << i;
  }
#endif
  if (left < 64) {
    const std::uint64_t valid = (std::uint64_t{1} << left) - 1;
    separators &= valid;
    quotes &= valid;
  }
  // Bytes after an odd number of quotes are inside a quoted field.
  std::uint64_t quoted = quotes;
  quoted ^= quoted << 1;
  quoted ^= quoted << 2;
  quoted ^= quoted << 4;
  quoted ^= quoted << 8;
  quoted ^= quoted << 16;
  quoted ^= quoted << 32;
  quoted ^= inside;
  inside = std::uint64_t{0} - (quoted >> 63);
  return {separators & ~quoted, quotes};
}

// Accepts exactly "..." with only doubled quotes inside: the one form on which the
// prefix-XOR view of quotes and ParseSlow() agree.
inline bool Unquote(const char* begin, const char* end, std::string_view& value, bool& doubled,
                    std::uint64_t& newlines) {
  if (end - begin < 2 || begin[0] != '"' || end[-1] != '"') return false;
  doubled = false;
  for (const char* p = begin + 1; p < end - 1; ++p) {
    if (*p == '\n') {
      ++newlines;
    } else if (*p == '"') {
      if (p + 1 == end - 1 || p[1] != '"') return false;
      doubled = true;
      ++p;
    }
  }
  value = View(begin + 1, end - 1);
  return true;
}

}  // namespace

std::string_view RecordErrorText(RecordError error) {
  switch (error) {
    case RecordError::kNone:
      return "ok";
    case RecordError::kBadQuote:
      return "text after a closing quote";
    case RecordError::kUnterminatedQuote:
      return "unterminated quote";
    case RecordError::kTooLong:
      return "record too long (unbalanced quote?)";
  }
  return "malformed";
}

Reader::Reader(ReadFn read, ReaderOptions options) : read_(std::move(read)), options_(options) {
  options_.block_size = std::max<std::size_t>(options_.block_size, 16);
  options_.max_record_size = std::max(options_.max_record_size, options_.block_size);
  fields_.reserve(64);
  fast_fields_.resize(256);
  batch_.resize(kBatchSize);
}

bool Reader::Fill() {
  chunks_valid_ = false;
  if (begin_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == capacity_) {
    const std::size_t capacity = capacity_ == 0 ? options_.block_size : capacity_ * 2;
    auto buffer = std::make_unique<char[]>(capacity + kPadding);
    if (end_ > 0) std::memcpy(buffer.get(), buffer_.get(), end_);
    buffer_ = std::move(buffer);
    capacity_ = capacity;
  }
  const std::ptrdiff_t n = read_(buffer_.get() + end_, capacity_ - end_);
  if (n < 0) return false;
  if (n == 0) eof_ = true;
  end_ += static_cast<std::size_t>(n);
  bytes_read_ += static_cast<std::uint64_t>(n);
  return true;
}

void Reader::Resync() {
  chunks_valid_ = false;
  const char* data = buffer_.get();
  const void* newline = std::memchr(data + begin_, '\n', end_ - begin_);
  if (newline != nullptr) {
    begin_ = static_cast<std::size_t>(static_cast<const char*>(newline) - data) + 1;
    ++line_;
  } else {
    begin_ = end_;
    skip_line_ = !eof_;
    if (eof_) ++line_;
  }
}

Reader::Status Reader::Next(Record& record) {
  if (next_ == current_.size()) {
    std::span<const Record> batch;
    const Status status = NextBatch(batch);
    if (status != Status::kRecord) return status;
    current_ = batch;
    next_ = 0;
  }
  record = current_[next_++];
  return Status::kRecord;
}

Reader::Status Reader::NextBatch(std::span<const Record>& records) {
  if (next_ < current_.size()) {  // what Next() has not handed out yet
    records = current_.subspan(next_);
    next_ = current_.size();
    return Status::kRecord;
  }
  batch_size_ = 0;
  current_ = {};
  next_ = 0;
  for (;;) {
    if (!started_) {
      while (!eof_ && end_ - begin_ < 3) {
        if (!Fill()) return Status::kAborted;
      }
      if (end_ - begin_ >= 3 && std::memcmp(buffer_.get() + begin_, "\xEF\xBB\xBF", 3) == 0) {
        begin_ += 3;
      }
      chunks_valid_ = false;
      started_ = true;
    }
    if (skip_line_) {
      const char* data = buffer_.get();
      const void* newline = std::memchr(data + begin_, '\n', end_ - begin_);
      chunks_valid_ = false;
      if (newline != nullptr) {
        begin_ = static_cast<std::size_t>(static_cast<const char*>(newline) - data) + 1;
        ++line_;
        skip_line_ = false;
      } else {
        begin_ = end_;
        if (eof_) {
          skip_line_ = false;
        } else if (!Fill()) {
          return Status::kAborted;
        }
        continue;
      }
    }
    if (begin_ == end_) {
      if (eof_) return Status::kEnd;
      if (!Fill()) return Status::kAborted;
      continue;
    }
    Parse parse = options_.vectorized ? ParseFast() : Parse::kSlow;
    if (parse == Parse::kSlow) {
      chunks_valid_ = false;
      parse = ParseSlow(batch_[0]);
      if (parse == Parse::kRecord) batch_size_ = 1;
    }
    switch (parse) {
      case Parse::kRecord:
        records = std::span<const Record>(batch_.data(), batch_size_);
        return Status::kRecord;
      case Parse::kBlank:
      case Parse::kSlow:
        continue;
      case Parse::kNeedMore:
        if (end_ - begin_ >= options_.max_record_size) {
          batch_[0] = Record{{}, line_, RecordError::kTooLong};
          Resync();
          records = std::span<const Record>(batch_.data(), 1);
          return Status::kRecord;
        }
        if (!Fill()) return Status::kAborted;
        continue;
    }
  }
}

void Reader::ResetChunks() {
  chunk_ = begin_;
  inside_carry_ = 0;
  structurals_ = 0;
  quotes_ = 0;
  if (chunk_ < end_) {
    const ChunkMasks masks =
        ScanChunk(buffer_.get() + chunk_, end_ - chunk_, options_.delimiter, inside_carry_);
    structurals_ = masks.structurals;
    quotes_ = masks.quotes;
  }
  chunks_valid_ = true;
}

// Parses records at begin_ into batch_ until the batch is full, the data ends, or a record
// needs ParseSlow().
Reader::Parse Reader::ParseFast() {
  if (!chunks_valid_) ResetChunks();
  // The hot loop keeps its state in locals whose address is not taken (stores into the
  // field array could otherwise alias them), and few enough of them to stay in registers;
  // what only quoted fields need lives in members.
  char* const base = buffer_.get();
  const char* const data_end = base + end_;
  const char delimiter = options_.delimiter;
  const char* field = base + begin_;
  const char* record_start = field;
  const char* chunk = base + chunk_;
  std::uint64_t structurals = structurals_;
  std::uint64_t quotes = quotes_;  // bit 0 also set when the field began in an earlier chunk
  std::uint64_t line = line_;
  std::size_t records = 0;
  std::string_view* out = fast_fields_.data();
  std::string_view* record_fields = out;
  std::string_view* out_end = out + fast_fields_.size();
  quoted_record_ = false;
  newlines_ = 0;
  escaped_.clear();

  // Leaves the loop with the record at record_start unfinished.
  auto stop = [&](Parse parse) {
    chunks_valid_ = false;
    begin_ = static_cast<std::size_t>(record_start - base);
    line_ = line;
    batch_size_ = records;
    return records == 0 ? parse : Parse::kRecord;
  };

  if (out_end - out < 64) GrowFields(out, record_fields, out_end, records);
  for (;;) {
    while (structurals == 0) {
      const std::uint64_t carried = quotes != 0 ? 1 : 0;
      chunk += 64;
      if (chunk >= data_end) {
        // The record goes on past the data: at the end of the file, or with quotes that
        // may be unbalanced, the slow path decides; otherwise read more and start over.
        return stop(eof_ || quoted_record_ || carried != 0 ? Parse::kSlow : Parse::kNeedMore);
      }
      const ChunkMasks masks =
          ScanChunk(chunk, static_cast<std::size_t>(data_end - chunk), delimiter, inside_carry_);
      structurals = masks.structurals;
      quotes = masks.quotes | carried;
      // A chunk holds at most 64 fields.
      if (out_end - out < 64) GrowFields(out, record_fields, out_end, records);
    }
    const char* at = chunk + static_cast<unsigned>(__builtin_ctzll(structurals));
    const std::uint64_t upto = structurals ^ (structurals - 1);
    structurals &= structurals - 1;
    const bool last = *at != delimiter;
    if ((quotes & upto) != 0) [[unlikely]] {
      quotes &= ~upto;
      quoted_record_ = true;
      const char* field_end = last && at > field && at[-1] == '\r' ? at - 1 : at;
      bool doubled = false;
      if (!Unquote(field, field_end, *out, doubled, newlines_)) return stop(Parse::kSlow);
      if (doubled) escaped_.push_back(static_cast<std::size_t>(out - fast_fields_.data()));
      ++out;
      field = at + 1;
      if (!last) continue;
    } else if (!last) {
      *out++ = View(field, at);
      field = at + 1;
      continue;
    } else {
      *out++ = View(field, at > field && at[-1] == '\r' ? at - 1 : at);
      field = at + 1;
      if (out - record_fields == 1 && record_fields->empty()) {  // a blank line
        out = record_fields;
        ++line;
        record_start = field;
        continue;
      }
    }

    // A record ends at `at`.
    batch_[records++] = Record{std::span<const std::string_view>(
                                   record_fields, static_cast<std::size_t>(out - record_fields)),
                               line, RecordError::kNone};
    record_fields = out;
    record_start = field;
    ++line;
    if (quoted_record_) {
      for (const std::size_t index : escaped_) Unescape(base, fast_fields_[index]);
      escaped_.clear();
      line += newlines_;
      newlines_ = 0;
      quoted_record_ = false;
    }
    if (records == kBatchSize) {
      begin_ = static_cast<std::size_t>(record_start - base);
      chunk_ = static_cast<std::size_t>(chunk - base);
      structurals_ = structurals;
      quotes_ = quotes;
      line_ = line;
      batch_size_ = records;
      return Parse::kRecord;
    }
  }
}

void Reader::GrowFields(std::string_view*& out, std::string_view*& record_fields,
                        std::string_view*& out_end, std::size_t records) {
  std::string_view* const old = fast_fields_.data();
  fast_fields_.resize(2 * fast_fields_.size() + 64);
  std::string_view* const now = fast_fields_.data();
  for (std::size_t i = 0; i < records; ++i) {
    batch_[i].fields = std::span<const std::string_view>(now + (batch_[i].fields.data() - old),
                                                         batch_[i].fields.size());
  }
  out = now + (out - old);
  record_fields = now + (record_fields - old);
  out_end = now + fast_fields_.size();
}

// Parses the record at begin_. Like ParseFast(), it modifies nothing until the whole record
// is in the buffer, so that a kNeedMore can simply parse it again after Fill().
Reader::Parse Reader::ParseSlow(Record& record) {
  char* const base = buffer_.get();
  const char* const end = base + end_;
  const char* const start = base + begin_;
  const char delimiter = options_.delimiter;
  const char* p = start;
  const char* field = start;
  const char* next = nullptr;  // first byte after the record
  std::uint64_t newlines = 0;
  RecordError error = RecordError::kNone;
  fields_.clear();
  escaped_.clear();

  while (next == nullptr) {
    const char* q = FindStructural(p, end, delimiter);
    if (q == end) {
      if (!eof_) return Parse::kNeedMore;
      const std::string_view last = LastField(field, end);
      if (fields_.empty() && last.empty()) {  // a final line holding only "\r"
        begin_ = end_;
        return Parse::kBlank;
      }
      fields_.push_back(last);
      next = end;
    } else if (*q == delimiter) {
      fields_.push_back(View(field, q));
      p = field = q + 1;
    } else if (*q == '\n') {
      const std::string_view last = LastField(field, q);
      if (fields_.empty() && last.empty()) {
        begin_ = static_cast<std::size_t>(q + 1 - base);
        ++line_;
        return Parse::kBlank;
      }
      fields_.push_back(last);
      ++newlines;
      next = q + 1;
    } else if (q != field) {
      p = q + 1;  // a quote inside an unquoted field is a literal
    } else {
      const char* r = q + 1;
      const char* close = nullptr;
      bool doubled = false;
      while (close == nullptr) {
        const auto* quote =
            static_cast<const char*>(std::memchr(r, '"', static_cast<std::size_t>(end - r)));
        if (quote == nullptr) {
          if (!eof_) return Parse::kNeedMore;
          record = Record{{}, line_, RecordError::kUnterminatedQuote};
          Resync();
          return Parse::kRecord;
        }
        if (quote + 1 == end && !eof_) return Parse::kNeedMore;
        if (quote + 1 < end && quote[1] == '"') {
          doubled = true;
          r = quote + 2;
        } else {
          close = quote;
        }
      }
      newlines += static_cast<std::uint64_t>(std::count(q + 1, close, '\n'));
      const std::string_view value = View(q + 1, close);
      const char* after = close + 1;
      if (doubled) escaped_.push_back(fields_.size());
      if (after == end) {  // only at eof: otherwise kNeedMore above
        fields_.push_back(value);
        next = end;
      } else if (*after == delimiter) {
        fields_.push_back(value);
        p = field = after + 1;
      } else if (*after == '\n') {
        fields_.push_back(value);
        ++newlines;
        next = after + 1;
      } else if (*after == '\r' && after + 1 == end) {
        if (!eof_) return Parse::kNeedMore;
        fields_.push_back(value);
        next = end;
      } else if (*after == '\r' && after[1] == '\n') {
        fields_.push_back(value);
        ++newlines;
        next = after + 2;
      } else {
        // The text up to the next delimiter stands in for the field; the record is flagged.
        if (doubled) escaped_.pop_back();
        error = RecordError::kBadQuote;
        p = field = after;
      }
    }
  }

  Finish(record, error, newlines, next);
  return Parse::kRecord;
}

void Reader::Unescape(char* base, std::string_view& value) {
  char* const out_begin = base + (value.data() - base);
  char* out = out_begin;
  for (std::size_t i = 0; i < value.size(); ++i) {
    *out++ = value[i];
    if (value[i] == '"') ++i;  // the first of a doubled quote
  }
  value = std::string_view(out_begin, static_cast<std::size_t>(out - out_begin));
}

void Reader::Finish(Record& record, RecordError error, std::uint64_t lines, const char* next) {
  char* const base = buffer_.get();
  for (const std::size_t index : escaped_) Unescape(base, fields_[index]);
  record.fields = fields_;
  record.error = error;
  record.line = line_;
  line_ += lines;
  begin_ = static_cast<std::size_t>(next - base);
}

}  // namespace kpid::collectors::csv
