#include <rnngraph/framework/tensor.h>

#include <rnngraph/framework/memory.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <rnngraph/framework/errors.h>

namespace rnngraph {

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::span<const int64_t>(dims)) {}

Shape::Shape(std::span<const int64_t> dims) {
  if (dims.empty() || dims.size() > kMaxRank)
    throw ShapeError(fmt::format("shape [{}] has rank {}; tensors have rank 1 to {}",
                                 fmt::join(dims, ", "), dims.size(), kMaxRank));
  int64_t count = 1;
  for (int64_t d : dims) {
    if (d < 1)
      throw ShapeError(fmt::format("shape [{}] has a dimension below 1", fmt::join(dims, ", ")));
    // Checked before multiplying, so absurd shapes from files fail cleanly instead of overflowing.
    if (d > kMaxElements / count)
      throw ShapeError(
          fmt::format("shape [{}] has more than {} elements", fmt::join(dims, ", "), kMaxElements));
    count *= d;
  }
  std::copy(dims.begin(), dims.end(), dims_.begin());
  rank_ = int(dims.size());
}

int64_t Shape::numel() const {
  int64_t n = rank_ == 0 ? 0 : 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[i];
  return n;
}

int64_t Shape::stride(int axis) const {
  int64_t s = 1;
  for (int i = axis + 1; i < rank_; ++i) s *= dims_[i];
  return s;
}

Shape Shape::drop_first() const {
  if (rank_ <= 1) return Shape{1};
  return Shape(std::span<const int64_t>(dims_.data() + 1, std::size_t(rank_ - 1)));
}

Shape Shape::with(int axis, int64_t size) const {
  Shape s = *this;
  s.dims_[axis] = size;
  return s;
}

bool Shape::operator==(const Shape& other) const {
  return rank_ == other.rank_ &&
         std::equal(dims_.begin(), dims_.begin() + rank_, other.dims_.begin());
}

std::string Shape::str() const { return fmt::format("[{}]", fmt::join(dims(), ", ")); }

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const int rank = std::max(a.rank(), b.rank());
  std::array<int64_t, kMaxRank> out{};
  for (int i = 0; i < rank; ++i) {
    const int ia = a.rank() - rank + i, ib = b.rank() - rank + i;
    const int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1) return Shape{};
    out[i] = std::max(da, db);
  }
  return Shape(std::span<const int64_t>(out.data(), std::size_t(rank)));
}

Tensor::Tensor(const Shape& shape) : shape_(shape) {
  if (shape.rank() == 0) throw ShapeError("a tensor needs a shape of rank 1 to 4");
  storage_ = memory::allocate(std::size_t(shape.numel()) * sizeof(float),
                              [&] { return fmt::format("a tensor of shape {}", shape.str()); });
  data_ = storage_.get();
}

Tensor::Tensor(const Shape& shape, std::initializer_list<float> values)
    : Tensor(from(shape, std::span<const float>(values.begin(), values.size()))) {}

Tensor Tensor::from(const Shape& shape, std::span<const float> values) {
  if (int64_t(values.size()) != shape.numel())
    throw ShapeError(
        fmt::format("{} values cannot fill a tensor of shape {}", values.size(), shape.str()));
  Tensor t(shape);
  std::copy(values.begin(), values.end(), t.data_);
  return t;
}

Tensor Tensor::view(const Shape& shape, float* data) { return Tensor(shape, data, nullptr); }

Tensor Tensor::operator[](int64_t t) const {
  if (t < 0 || t >= shape_[0])
    throw ShapeError(
        fmt::format("index {} is out of range for the first axis of {}", t, shape_.str()));
  return Tensor(shape_.drop_first(), data_ + t * shape_.stride(0), storage_);
}

Tensor Tensor::reshaped(const Shape& shape) const {
  if (shape.numel() != numel())
    throw ShapeError(fmt::format("cannot reshape {} to {}", shape_.str(), shape.str()));
  return Tensor(shape, data_, storage_);
}

float& Tensor::at(std::initializer_list<int64_t> index) const {
  if (int(index.size()) != shape_.rank())
    throw ShapeError(
        fmt::format("index of rank {} for a tensor of shape {}", index.size(), shape_.str()));
  int64_t offset = 0;
  int axis = 0;
  for (int64_t i : index) {
    if (i < 0 || i >= shape_[axis])
      throw ShapeError(
          fmt::format("index {} is out of range on axis {} of {}", i, axis, shape_.str()));
    offset += i * shape_.stride(axis++);
  }
  return data_[offset];
}

Tensor Tensor::clone() const {
  Tensor t(shape_);
  std::copy(data_, data_ + numel(), t.data_);
  return t;
}

void Tensor::fill(float value) const { std::fill(data_, data_ + numel(), value); }

Tensor swap_first_axes(const Tensor& t) {
  if (t.shape().rank() < 2)
    throw ShapeError(fmt::format("{} has no two leading axes to swap", t.shape().str()));
  std::vector<int64_t> dims(t.shape().dims().begin(), t.shape().dims().end());
  const int64_t rows = dims[0], cols = dims[1],
                inner = t.numel() / std::max<int64_t>(1, rows * cols);
  std::swap(dims[0], dims[1]);
  Tensor out{Shape(std::span<const int64_t>(dims))};
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      std::copy_n(t.data() + (r * cols + c) * inner, inner, out.data() + (c * rows + r) * inner);
  return out;
}

}  // namespace rnngraph
