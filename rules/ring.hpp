// A growable ring buffer: a queue with O(1) access by position, in one contiguous block so
// that a sliding window costs one cache miss per end rather than a deque's two (map, then
// block). Internal to rules/.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace kpid::rules::internal {

// T must be default-constructible and copyable. Not thread-safe.
template <typename T>
class Ring {
 public:
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] std::size_t capacity() const { return data_.size(); }

  // Position 0 is the front.
  [[nodiscard]] const T& operator[](std::size_t i) const { return data_[(head_ + i) & Mask()]; }
  [[nodiscard]] T& operator[](std::size_t i) { return data_[(head_ + i) & Mask()]; }
  [[nodiscard]] const T& front() const { return data_[head_]; }
  [[nodiscard]] const T& back() const { return (*this)[size_ - 1]; }
  [[nodiscard]] T& back() { return (*this)[size_ - 1]; }

  void push_back(const T& value) {
    if (size_ == data_.size()) Reallocate(data_.empty() ? kMinCapacity : 2 * data_.size());
    data_[(head_ + size_) & Mask()] = value;
    ++size_;
  }
  void pop_front() {
    head_ = (head_ + 1) & Mask();
    --size_;
  }
  void pop_back() { --size_; }

  // Gives memory back after the content shrank to under a quarter of the capacity.
  void ShrinkIfSparse() {
    if (data_.size() <= kMinCapacity || 4 * size_ >= data_.size()) return;
    std::size_t capacity = kMinCapacity;
    while (capacity < 2 * size_) capacity *= 2;
    Reallocate(capacity);
  }

 private:
  static constexpr std::size_t kMinCapacity = 8;

  [[nodiscard]] std::size_t Mask() const { return data_.size() - 1; }

  void Reallocate(std::size_t capacity) {
    std::vector<T> next(capacity);
    for (std::size_t i = 0; i < size_; ++i) next[i] = (*this)[i];
    data_ = std::move(next);
    head_ = 0;
  }

  std::vector<T> data_;  // its size is 0 or a power of two
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace kpid::rules::internal
