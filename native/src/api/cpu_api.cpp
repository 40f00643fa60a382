// CPU information and ISA selection.
#include <myelin.h>

#include "core/error.hpp"
#include "core/raw_enum.hpp"
#include "core/validation.hpp"
#include "cpu/cpu_features.hpp"
#include "cpu/isa.hpp"
#include "cpu/topology.hpp"

extern "C" {

MLN_API mln_status mln_cpu_get_features(mln_cpu_features* out_features) {
    return mln::guard("mln_cpu_get_features", [&] {
        mln::require_not_null(out_features, "out_features") = static_cast<mln_cpu_features>(mln::cpu::cpu_features());
    });
}

MLN_API mln_status mln_cpu_get_name(const char** out_name) {
    return mln::guard("mln_cpu_get_name", [&] { mln::require_not_null(out_name, "out_name") = mln::cpu::cpu_name().c_str(); });
}

MLN_API mln_status mln_cpu_get_physical_core_count(int32_t* out_count) {
    return mln::guard("mln_cpu_get_physical_core_count",
                      [&] { mln::require_not_null(out_count, "out_count") = mln::cpu::physical_core_count(); });
}

MLN_API mln_status mln_cpu_get_isa(mln_isa* out_isa) {
    return mln::guard("mln_cpu_get_isa", [&] { mln::require_not_null(out_isa, "out_isa") = mln::cpu::active_isa(); });
}

MLN_API mln_status mln_cpu_set_isa(mln_isa isa) {
    return mln::guard("mln_cpu_set_isa", [&] { mln::cpu::set_active_isa(mln::raw_enum(isa)); });
}

}  // extern "C"
