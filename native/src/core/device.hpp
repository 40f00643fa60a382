// The device interface. A backend is a table of function pointers; the api layer validates
// every argument and then calls through the table, so a backend receives only valid views.
// Backends throw mln::Error for requests they cannot serve (for example an op/dtype pair they
// lack), which guard() turns into a status.
#pragma once

#include <myelin.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/elementwise_args.hpp"
#include "core/eltwise_program_args.hpp"
#include "core/kernel_args.hpp"
#include "core/nn_args.hpp"
#include "core/tensor_view.hpp"

namespace mln {

struct DeviceOps {
    // Memory. alloc throws Error(OUT_OF_MEMORY) when the request cannot be served.
    void* (*alloc)(mln_device& device, std::size_t bytes);
    void (*free)(mln_device& device, void* pointer);
    // Copies between this device and `other` (or within this device); dst_device or
    // src_device is this device.
    void (*copy)(mln_device& dst_device, void* dst, mln_device& src_device, const void* src, std::size_t bytes);
    mln_memory_stats (*memory_stats)(const mln_device& device);
    void (*synchronize)(mln_device& device);

    int32_t (*get_thread_count)(const mln_device& device);
    void (*set_thread_count)(mln_device& device, int32_t count);

    // Whether the family has at least one op for dtype; ops within a family may support fewer
    // dtypes, which the family's slot reports with Error(NOT_SUPPORTED).
    bool (*supports)(mln_kernel kernel, mln_dtype dtype);

    // One slot per kernel family. Inputs of unary/binary/copy/cast are already broadcast to the
    // output's shape.
    void (*fill)(mln_device& device, const TensorView& y, double value);
    void (*copy_tensor)(mln_device& device, const TensorView& x, const TensorView& y);
    void (*cast)(mln_device& device, const TensorView& x, const TensorView& y);
    void (*unary)(mln_device& device, mln_unary_op op, double alpha, double beta, const TensorView& x,
                  const TensorView& y);
    void (*binary)(mln_device& device, mln_binary_op op, const TensorView& a, const TensorView& b,
                   const TensorView& y);
    void (*reduce)(mln_device& device, const ReduceArgs& args);
    // Along one axis of contiguous tensors (core/kernel_args.hpp); the reduce family's dtypes.
    void (*arg_reduce)(mln_device& device, const ArgReduceArgs& args);
    void (*top_k)(mln_device& device, const TopKArgs& args);
    void (*cumsum)(mln_device& device, const CumSumArgs& args);
    void (*gemm)(mln_device& device, const GemmArgs& args);
    // Elementwise families beyond unary/binary (core/elementwise_args.hpp).
    void (*unary_backward)(mln_device& device, const UnaryBackwardArgs& args);
    void (*where)(mln_device& device, const WhereArgs& args);
    void (*softmax)(mln_device& device, const SoftmaxArgs& args);
    void (*softmax_backward)(mln_device& device, const SoftmaxArgs& args);
    void (*optimizer_step)(mln_device& device, const OptimizerArgs& args);
    void (*dropout)(mln_device& device, const DropoutArgs& args);
    // Neural-network families (core/nn_args.hpp).
    void (*conv_forward)(mln_device& device, const ConvArgs& args);
    // Prepared filters (mln_conv_weights): args as for conv_forward without y, w read once; the
    // forward with them takes args whose w.data is not to be read.
    std::unique_ptr<PreparedConvFilters> (*conv_prepare_filters)(mln_device& device, const ConvArgs& args);
    void (*conv_forward_prepared)(mln_device& device, const ConvArgs& args, const PreparedConvFilters& filters);
    void (*conv_backward_data)(mln_device& device, const ConvArgs& args);
    void (*conv_backward_filter)(mln_device& device, const ConvArgs& args);
    void (*pool_forward)(mln_device& device, const PoolArgs& args);
    void (*pool_backward)(mln_device& device, const PoolArgs& args);
    void (*batch_norm_training)(mln_device& device, const NormArgs& args);
    void (*batch_norm_inference)(mln_device& device, const NormArgs& args);
    void (*batch_norm_backward)(mln_device& device, const NormArgs& args);
    void (*group_norm_forward)(mln_device& device, const NormArgs& args);  // layer norm too
    void (*group_norm_backward)(mln_device& device, const NormArgs& args);
    void (*gather)(mln_device& device, const GatherArgs& args);
    void (*scatter_add)(mln_device& device, const GatherArgs& args);
    void (*pad)(mln_device& device, const PadArgs& args);
    void (*gather_elements)(mln_device& device, const ElementIndexArgs& args);
    void (*scatter_elements)(mln_device& device, const ElementIndexArgs& args);
    void (*gather_nd)(mln_device& device, const GatherNdArgs& args);
    void (*scatter_nd)(mln_device& device, const GatherNdArgs& args);
    void (*trilu)(mln_device& device, const TriluArgs& args);
    void (*resize_forward)(mln_device& device, const ResizeArgs& args);
    void (*resize_backward)(mln_device& device, const ResizeArgs& args);
    // Fused elementwise programs (core/eltwise_program_args.hpp).
    void (*eltwise_program)(mln_device& device, const EltwiseProgramArgs& args);
};

}  // namespace mln

// The opaque handle of the C ABI.
struct mln_device {
    // Set while the handle lives; catches use of a destroyed or foreign pointer in most cases.
    static constexpr uint32_t kLiveMagic = 0x4d4c4e44;  // "MLND"

    uint32_t magic = kLiveMagic;
    mln_device_kind kind = MLN_DEVICE_KIND_CPU;
    int32_t ordinal = 0;
    std::string name;
    const mln::DeviceOps* ops = nullptr;
};

namespace mln {

// Checks that `device` is a live handle and returns it.
mln_device& require_device(mln_device* device, const char* name = "device");
const mln_device& require_device(const mln_device* device, const char* name = "device");

// Number of devices of `kind` (an mln_device_kind value) present; throws for an invalid kind.
int32_t device_count(int32_t kind);
// Opens a device; throws NOT_SUPPORTED for kinds this build lacks.
mln_device* create_device(int32_t kind, int32_t ordinal);
void destroy_device(mln_device* device) noexcept;

}  // namespace mln
