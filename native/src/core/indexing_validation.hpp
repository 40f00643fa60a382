// Argument checks of the element-wise and N-d indexing entry points (GatherElements,
// ScatterElements, GatherND, ScatterND) and Trilu. Each throws mln::Error naming the argument.
#pragma once

#include <myelin.h>

#include "core/nn_args.hpp"

namespace mln {

// Scatters return args with table = y and rows = updates; `reduction` is the raw value.
ElementIndexArgs validate_gather_elements(const mln_device& device, const mln_tensor_desc* x, int32_t axis,
                                          const mln_tensor_desc* indices, const mln_tensor_desc* y);
ElementIndexArgs validate_scatter_elements(const mln_device& device, int32_t reduction, const mln_tensor_desc* updates,
                                           int32_t axis, const mln_tensor_desc* indices, const mln_tensor_desc* y);
GatherNdArgs validate_gather_nd(const mln_device& device, const mln_tensor_desc* x, int32_t batch_dims,
                                const mln_tensor_desc* indices, const mln_tensor_desc* y);
GatherNdArgs validate_scatter_nd(const mln_device& device, int32_t reduction, const mln_tensor_desc* updates,
                                 int32_t batch_dims, const mln_tensor_desc* indices, const mln_tensor_desc* y);
TriluArgs validate_trilu(const mln_device& device, int32_t upper, int64_t k, const mln_tensor_desc* x,
                         const mln_tensor_desc* y);

}  // namespace mln
