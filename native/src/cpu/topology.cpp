#include "cpu/topology.hpp"

#include <algorithm>
#include <thread>

#if defined(__linux__)
#include <sched.h>

#include <fstream>
#include <set>
#include <string>
#include <utility>
#elif defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#define NOMINMAX
#include <windows.h>

#include <vector>
#elif defined(__APPLE__)
#include <sys/sysctl.h>
#endif

namespace mln::cpu {
namespace {

int32_t logical_count() {
    const unsigned count = std::thread::hardware_concurrency();
    return count == 0 ? 1 : static_cast<int32_t>(count);
}

#if defined(__linux__)
// Counts distinct (package, core) pairs among the CPUs in this process's affinity mask, so a
// container or taskset limit is respected and SMT siblings count once.
int32_t detect() {
    cpu_set_t mask;
    CPU_ZERO(&mask);
    if (sched_getaffinity(0, sizeof(mask), &mask) != 0) return logical_count();
    std::set<std::pair<long, long>> cores;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (!CPU_ISSET(cpu, &mask)) continue;
        const std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
        std::ifstream package_file(base + "physical_package_id");
        std::ifstream core_file(base + "core_id");
        long package = 0;
        long core = 0;
        // Without sysfs topology, every allowed logical CPU counts as a core.
        if (!(package_file >> package) || !(core_file >> core)) return CPU_COUNT(&mask);
        cores.emplace(package, core);
    }
    return cores.empty() ? logical_count() : static_cast<int32_t>(cores.size());
}
#elif defined(_WIN32)
int32_t detect() {
    DWORD length = 0;
    GetLogicalProcessorInformationEx(RelationProcessorCore, nullptr, &length);
    if (length == 0) return logical_count();
    std::vector<char> buffer(length);
    auto* info = reinterpret_cast<SYSTEM_LOGICAL_PROCESSOR_INFORMATION_EX*>(buffer.data());
    if (!GetLogicalProcessorInformationEx(RelationProcessorCore, info, &length)) return logical_count();
    int32_t cores = 0;
    for (DWORD offset = 0; offset < length;) {
        auto* entry = reinterpret_cast<SYSTEM_LOGICAL_PROCESSOR_INFORMATION_EX*>(buffer.data() + offset);
        if (entry->Relationship == RelationProcessorCore) ++cores;
        offset += entry->Size;
    }
    return cores > 0 ? cores : logical_count();
}
#elif defined(__APPLE__)
int32_t detect() {
    int cores = 0;
    size_t size = sizeof(cores);
    if (sysctlbyname("hw.physicalcpu", &cores, &size, nullptr, 0) == 0 && cores > 0) return cores;
    return logical_count();
}
#else
int32_t detect() { return logical_count(); }
#endif

}  // namespace

int32_t physical_core_count() noexcept {
    static const int32_t count = std::max<int32_t>(1, detect());
    return count;
}

}  // namespace mln::cpu
