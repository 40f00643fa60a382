#include "cpu/cpu_device.hpp"

#include <cstring>

#include "core/error.hpp"
#include "core/text.hpp"
#include "cpu/aligned_allocator.hpp"
#include "cpu/thread_pool.hpp"
#include "cpu/topology.hpp"
#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/cpu/common/half_convert.hpp"
#include "kernels/cpu/elementwise/eltwise_program.hpp"
#include "kernels/cpu/half_kernels.hpp"
#include "kernels/cpu/nn_kernels.hpp"

namespace mln::cpu {
namespace {

void* cpu_alloc(mln_device&, std::size_t bytes) { return host_allocator().allocate(bytes); }

void cpu_free(mln_device&, void* pointer) { host_allocator().deallocate(pointer); }

void cpu_copy(mln_device&, void* dst, mln_device&, const void* src, std::size_t bytes) {
    if (bytes != 0) std::memcpy(dst, src, bytes);
}

mln_memory_stats cpu_memory_stats(const mln_device&) { return host_allocator().stats(); }

// Kernels run on the calling thread and return when done, so there is nothing to wait for.
void cpu_synchronize(mln_device&) {}

int32_t cpu_get_thread_count(const mln_device&) { return thread_pool().thread_count(); }

void cpu_set_thread_count(mln_device&, int32_t count) {
    if (count < 0 || count > ThreadPool::kMaxThreads) {
        throw Error(MLN_STATUS_INVALID_ARGUMENT,
                    cat("count ", count, " is out of range (0 for the default, or 1..", ThreadPool::kMaxThreads, ")"));
    }
    thread_pool().set_thread_count(count == 0 ? physical_core_count() : count);
}

void cpu_fill(mln_device&, const TensorView& y, double value) { kernels::fill(y, value); }
void cpu_copy_tensor(mln_device&, const TensorView& x, const TensorView& y) { kernels::copy(x, y); }
void cpu_cast(mln_device&, const TensorView& x, const TensorView& y) { kernels::cast(x, y); }
// f16/bf16 storage computes in f32 (kernels/cpu/half_kernels.hpp).
void cpu_unary(mln_device&, mln_unary_op op, double alpha, double beta, const TensorView& x, const TensorView& y) {
    if (kernels::is_half_dtype(y.dtype)) return kernels::unary_half(op, alpha, beta, x, y);
    kernels::unary(op, alpha, beta, x, y);
}
void cpu_binary(mln_device&, mln_binary_op op, const TensorView& a, const TensorView& b, const TensorView& y) {
    if (kernels::is_half_dtype(a.dtype)) return kernels::binary_half(op, a, b, y);
    kernels::binary(op, a, b, y);
}
void cpu_reduce(mln_device&, const ReduceArgs& args) { kernels::reduce(args); }
void cpu_arg_reduce(mln_device&, const ArgReduceArgs& args) { kernels::arg_reduce(args); }
void cpu_top_k(mln_device&, const TopKArgs& args) { kernels::top_k(args); }
void cpu_cumsum(mln_device&, const CumSumArgs& args) { kernels::cumsum(args); }
void cpu_gemm(mln_device&, const GemmArgs& args) {
    if (kernels::is_half_dtype(args.c.dtype)) return kernels::gemm_half(args);
    kernels::gemm(args);
}
void cpu_unary_backward(mln_device&, const UnaryBackwardArgs& args) { kernels::unary_backward(args); }
void cpu_where(mln_device&, const WhereArgs& args) { kernels::where(args); }
void cpu_softmax(mln_device&, const SoftmaxArgs& args) { kernels::softmax(args); }
void cpu_softmax_backward(mln_device&, const SoftmaxArgs& args) { kernels::softmax_backward(args); }
void cpu_optimizer_step(mln_device&, const OptimizerArgs& args) { kernels::optimizer_step(args); }
void cpu_dropout(mln_device&, const DropoutArgs& args) { kernels::dropout(args); }
void cpu_conv_forward(mln_device&, const ConvArgs& args) { kernels::conv_forward(args); }
std::unique_ptr<PreparedConvFilters> cpu_conv_prepare_filters(mln_device&, const ConvArgs& args) {
    return kernels::conv_prepare_filters(args);
}
void cpu_conv_forward_prepared(mln_device&, const ConvArgs& args, const PreparedConvFilters& filters) {
    kernels::conv_forward_prepared(args, filters);
}
void cpu_conv_backward_data(mln_device&, const ConvArgs& args) { kernels::conv_backward_data(args); }
void cpu_conv_backward_filter(mln_device&, const ConvArgs& args) { kernels::conv_backward_filter(args); }
void cpu_pool_forward(mln_device&, const PoolArgs& args) { kernels::pool_forward(args); }
void cpu_pool_backward(mln_device&, const PoolArgs& args) { kernels::pool_backward(args); }
void cpu_batch_norm_training(mln_device&, const NormArgs& args) { kernels::batch_norm_training(args); }
void cpu_batch_norm_inference(mln_device&, const NormArgs& args) { kernels::batch_norm_inference(args); }
void cpu_batch_norm_backward(mln_device&, const NormArgs& args) { kernels::batch_norm_backward(args); }
void cpu_group_norm_forward(mln_device&, const NormArgs& args) { kernels::group_norm_forward(args); }
void cpu_group_norm_backward(mln_device&, const NormArgs& args) { kernels::group_norm_backward(args); }
void cpu_gather(mln_device&, const GatherArgs& args) { kernels::gather(args); }
void cpu_scatter_add(mln_device&, const GatherArgs& args) { kernels::scatter_add(args); }
void cpu_pad(mln_device&, const PadArgs& args) { kernels::pad(args); }
void cpu_gather_elements(mln_device&, const ElementIndexArgs& args) { kernels::gather_elements(args); }
void cpu_scatter_elements(mln_device&, const ElementIndexArgs& args) { kernels::scatter_elements(args); }
void cpu_gather_nd(mln_device&, const GatherNdArgs& args) { kernels::gather_nd(args); }
void cpu_scatter_nd(mln_device&, const GatherNdArgs& args) { kernels::scatter_nd(args); }
void cpu_trilu(mln_device&, const TriluArgs& args) { kernels::trilu(args); }
void cpu_resize_forward(mln_device&, const ResizeArgs& args) { kernels::resize_forward(args); }
void cpu_resize_backward(mln_device&, const ResizeArgs& args) { kernels::resize_backward(args); }
void cpu_eltwise_program(mln_device&, const EltwiseProgramArgs& args) { kernels::eltwise_program(args); }

constexpr DeviceOps kCpuDeviceOps = {
    cpu_alloc,
    cpu_free,
    cpu_copy,
    cpu_memory_stats,
    cpu_synchronize,
    cpu_get_thread_count,
    cpu_set_thread_count,
    kernels::supports,
    cpu_fill,
    cpu_copy_tensor,
    cpu_cast,
    cpu_unary,
    cpu_binary,
    cpu_reduce,
    cpu_arg_reduce,
    cpu_top_k,
    cpu_cumsum,
    cpu_gemm,
    cpu_unary_backward,
    cpu_where,
    cpu_softmax,
    cpu_softmax_backward,
    cpu_optimizer_step,
    cpu_dropout,
    cpu_conv_forward,
    cpu_conv_prepare_filters,
    cpu_conv_forward_prepared,
    cpu_conv_backward_data,
    cpu_conv_backward_filter,
    cpu_pool_forward,
    cpu_pool_backward,
    cpu_batch_norm_training,
    cpu_batch_norm_inference,
    cpu_batch_norm_backward,
    cpu_group_norm_forward,
    cpu_group_norm_backward,
    cpu_gather,
    cpu_scatter_add,
    cpu_pad,
    cpu_gather_elements,
    cpu_scatter_elements,
    cpu_gather_nd,
    cpu_scatter_nd,
    cpu_trilu,
    cpu_resize_forward,
    cpu_resize_backward,
    cpu_eltwise_program,
};

}  // namespace

const DeviceOps& cpu_device_ops() { return kCpuDeviceOps; }

}  // namespace mln::cpu
