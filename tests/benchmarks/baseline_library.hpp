// Another build of Myelin in the same process as the linked one (conv_vs_build, gemm_vs_openblas
// --baseline): its libmyelin.so opened with dlopen and its C API looked up by name. UNIX only.
#pragma once

#include <dlfcn.h>

#include <string>

namespace peer_bench {

class BaselineLibrary {
public:
    // RTLD_LOCAL keeps the baseline's symbols out of the process's scope: the linked build's calls
    // still reach the linked library (the library exports only its C API, so neither binds into
    // the other). `fail` reports a file that cannot be loaded or lacks a symbol, and does not return.
    BaselineLibrary(std::string path, void (*fail)(const std::string&)) : path_(std::move(path)), fail_(fail) {
        handle_ = dlopen(path_.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle_) fail_("cannot load the baseline " + path_ + ": " + dlerror());
    }

    template <class Function>
    void resolve(const char* symbol, Function*& function) const {
        function = reinterpret_cast<Function*>(dlsym(handle_, symbol));
        if (!function) fail_("the baseline " + path_ + " has no symbol " + symbol);
    }

private:
    std::string path_;
    void (*fail_)(const std::string&);
    void* handle_ = nullptr;  // never closed: the baseline's functions are used until exit
};

// The file the linked build was loaded from, given one of its functions: LD_LIBRARY_PATH may have
// put another in place of the one beside the program.
inline std::string library_file_of(const void* function) {
    Dl_info info{};
    if (dladdr(function, &info) == 0 || !info.dli_fname) return "?";
    return info.dli_fname;
}

}  // namespace peer_bench
