// Library-wide entry points.
#include <myelin.h>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/raw_enum.hpp"

#ifndef MYELIN_VERSION_STRING
#error "MYELIN_VERSION_STRING is defined by CMakeLists.txt from the project version"
#endif

extern "C" {

MLN_API const char* mln_last_error(void) { return mln::last_error(); }

MLN_API const char* mln_version(void) { return MYELIN_VERSION_STRING; }

MLN_API int32_t mln_abi_version(void) { return MLN_ABI_VERSION; }

MLN_API size_t mln_dtype_size(mln_dtype dtype) { return mln::dtype_size(mln::raw_enum(dtype)); }

}  // extern "C"
