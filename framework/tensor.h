// Shape and Tensor: float32, row-major, rank 1 to 4.
//
// A Tensor is a cheap handle (shape + data pointer + shared ownership), like a torch.Tensor:
// copying it shares the data. Owning tensors are 64-byte aligned for SIMD; views (x[t],
// external memory) point into storage they do not own.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>

namespace rnngraph {

inline constexpr int kMaxRank = 4;
inline constexpr std::size_t kTensorAlignment = 64;
inline constexpr int64_t kMaxElements = int64_t(1) << 40;  // 4 TiB of floats: a sanity bound

class Shape {
 public:
  Shape() = default;  // rank 0: "no shape yet"; every real tensor has rank 1 to 4
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(std::span<const int64_t> dims);

  int rank() const { return rank_; }
  int64_t operator[](int axis) const { return dims_[axis]; }
  std::span<const int64_t> dims() const { return {dims_.data(), std::size_t(rank_)}; }
  int64_t numel() const;
  // Elements between two consecutive indices on `axis` (the product of the later dims).
  int64_t stride(int axis) const;
  // The shape without its first axis (what x[t] has); a rank-1 shape gives [1].
  Shape drop_first() const;
  Shape with(int axis, int64_t size) const;

  bool operator==(const Shape& other) const;
  std::string str() const;  // "[2, 3]"

 private:
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

class Tensor {
 public:
  Tensor() = default;
  // Owning, zero-filled, aligned.
  explicit Tensor(const Shape& shape);
  // Owning, filled from `values` (row-major); their count must equal shape.numel().
  Tensor(const Shape& shape, std::initializer_list<float> values);
  static Tensor from(const Shape& shape, std::span<const float> values);
  // Non-owning view of external memory; the caller keeps it alive.
  static Tensor view(const Shape& shape, float* data);

  const Shape& shape() const { return shape_; }
  int64_t numel() const { return shape_.numel(); }
  bool empty() const { return data_ == nullptr; }
  float* data() const { return data_; }
  std::span<float> values() const& { return {data_, std::size_t(numel())}; }
  // A temporary tensor may be the last owner of its data: the span would dangle.
  std::span<float> values() && = delete;

  // x[t]: select index t on the first axis, without copying.
  Tensor operator[](int64_t t) const;
  // A view of the same data with another shape of equal size.
  Tensor reshaped(const Shape& shape) const;
  // Element access by full index (bounds-checked; for tests and tools, not kernels).
  float& at(std::initializer_list<int64_t> index) const;
  // A deep copy into fresh owning storage.
  Tensor clone() const;
  void fill(float value) const;

 private:
  Tensor(const Shape& shape, float* data, std::shared_ptr<float> storage)
      : shape_(shape), data_(data), storage_(std::move(storage)) {}
  Shape shape_;
  float* data_ = nullptr;
  std::shared_ptr<float> storage_;  // null for views of memory we do not own
};

// The broadcast shape of two operands (numpy rules, aligned from the right), or rank 0 when they
// do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b);

// A copy of t [a, b, ...] as [b, a, ...]: sequence-first and batch-first layouts (PyTorch's
// batch_first). ShapeError for fewer than two axes.
Tensor swap_first_axes(const Tensor& t);

}  // namespace rnngraph
