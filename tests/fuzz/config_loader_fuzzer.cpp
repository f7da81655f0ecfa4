// The YAML config loader (config/config_loader.hpp) on arbitrary text, through load_config(path) as `run` and
// `check` use it. The text is written to one file in a private temporary directory that also holds a set of
// certificates and keys, so that configs naming js.pem, js.key, ns.pem, ns.key, ca.pem, notacert.pem or
// root.key (the names of tests/unit/configs/) get past the file checks.
//
// Invariants:
//  - the loader never crashes, never throws, and returns exactly one of a config or at least one error;
//  - every error is located as the project promises ("FILE:LINE:COL: key.path: message"): it names the file,
//    LINE is between 1 and the number of lines of the text, COL is at least 1, the message is not empty, and
//    to_string() starts with "FILE:LINE:COL: "; errors come sorted by position;
//  - a loaded config has at least one listener, allow-list entries lower-cased and absolute file paths.
#include <sys/stat.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "base/dns_name.hpp"
#include "config/config_loader.hpp"
#include "config_test_files.hpp"
#include "fuzz_check.hpp"

using dance::fuzz::escaped;
namespace fs = std::filesystem;

// The loader reads whatever cert/key path the text names. A device such as /dev/zero or /dev/urandom would
// never end (PEM_read_bio reads on until it finds a PEM header) and /dev/stdin would block: for the fuzzer, any
// path that is neither a regular file nor a directory cannot be opened. Linked with -Wl,--wrap=fopen, which
// redirects the project's own calls only (config/pem_files.cpp).
extern "C" std::FILE* __real_fopen(const char* path, const char* mode);
extern "C" std::FILE* __wrap_fopen(const char* path, const char* mode) {
    struct stat info {};
    if (path && ::stat(path, &info) == 0 && !S_ISREG(info.st_mode) && !S_ISDIR(info.st_mode)) {
        errno = EACCES;
        return nullptr;
    }
    return __real_fopen(path, mode);
}

namespace {

struct Workspace {
    dance::test::TempDir directory;
    fs::path config_file;

    Workspace() {
        const fs::path& dir = directory.path();
        auto js_key = dance::test::make_ec_key();
        auto ns_key = dance::test::make_ec_key();
        auto ca_key = dance::test::make_ec_key();
        auto ca = dance::test::make_certificate("test ca", ca_key.get(), nullptr, nullptr, true);
        auto js = dance::test::make_certificate("js", js_key.get(), ca.get(), ca_key.get(), false);
        auto ns = dance::test::make_certificate("ns", ns_key.get(), ca.get(), ca_key.get(), false);
        dance::test::write_certificate_pem(dir / "js.pem", js.get());
        dance::test::write_certificate_pem(dir / "js.pem", ca.get(), true);
        dance::test::write_key_pem(dir / "js.key", js_key.get());
        dance::test::write_certificate_pem(dir / "ns.pem", ns.get());
        dance::test::write_key_pem(dir / "ns.key", ns_key.get());
        dance::test::write_certificate_pem(dir / "ca.pem", ca.get());
        dance::test::write_text(dir / "notacert.pem", "this is not PEM\n");
        dance::test::write_text(dir / "root.key",
                                ". IN DS 20326 8 2 e06d44b80b8f1d39a95c0b0d7c65d08458e880409bbc683457104237c7f8ec8d\n");
        config_file = dir / "sidecar.yaml";
    }
};

Workspace* workspace = nullptr;

// Lines as an editor counts them: every "\n", "\r\n" or lone "\r" ends one; a last line without a break counts.
int count_lines(std::string_view text) {
    int lines = 1;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n' || (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n'))) ++lines;
    }
    return lines;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    static Workspace instance;  // removed at exit, with every file in it
    workspace = &instance;
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    {
        std::ofstream file(workspace->config_file, std::ios::binary | std::ios::trunc);
        file.write(text.data(), static_cast<std::streamsize>(text.size()));
        FUZZ_CHECK(file.good(), "cannot write " + workspace->config_file.string());
    }
    const std::string path = workspace->config_file.string();

    dance::config::LoadResult result;
    try {
        result = dance::config::load_config(path);
    } catch (const std::exception& error) {
        FUZZ_CHECK(false, std::string("load_config threw: ") + error.what() + "\n  text: " + escaped(text));
    } catch (...) {
        FUZZ_CHECK(false, "load_config threw a non-exception\n  text: " + escaped(text));
    }

    FUZZ_CHECK(result.ok() != !result.errors.empty(),
               std::string(result.ok() ? "a config and " : "no config and ") + std::to_string(result.errors.size()) +
                   " errors\n  text: " + escaped(text));

    const int lines = count_lines(text);
    int previous_line = 0, previous_column = 0;
    for (const dance::config::ConfigError& error : result.errors) {
        std::string printed = error.to_string();
        auto context = [&] { return "\n  error: " + escaped(printed) + "\n  text: " + escaped(text, 2000); };
        FUZZ_CHECK(error.file == path, "error names another file" + context());
        FUZZ_CHECK(error.line >= 1 && error.line <= lines,
                   "line " + std::to_string(error.line) + " of " + std::to_string(lines) + context());
        FUZZ_CHECK(error.column >= 1, "column " + std::to_string(error.column) + context());
        FUZZ_CHECK(!error.message.empty(), "empty message" + context());
        std::string location = path + ":" + std::to_string(error.line) + ":" + std::to_string(error.column) + ": ";
        FUZZ_CHECK(printed.starts_with(location), "not located as FILE:LINE:COL" + context());
        FUZZ_CHECK(error.line > previous_line || (error.line == previous_line && error.column >= previous_column),
                   "errors not sorted by position" + context());
        previous_line = error.line;
        previous_column = error.column;
    }

    if (result.config) {
        const dance::config::Config& config = *result.config;
        auto context = [&] { return "\n  text: " + escaped(text, 2000); };
        FUZZ_CHECK(!config.inbound.empty() || !config.outbound.empty(), "a config without listeners" + context());
        for (const auto& listener : config.inbound) {
            FUZZ_CHECK(fs::path(listener.tls.cert).is_absolute() && fs::path(listener.tls.key).is_absolute(),
                       "relative cert/key path " + escaped(listener.tls.cert) + context());
            for (const std::string& entry : listener.client_auth.allow)
                FUZZ_CHECK(entry == dance::lower_case(entry), "allow entry " + escaped(entry) + context());
        }
        for (const auto& listener : config.outbound) {
            FUZZ_CHECK(fs::path(listener.tls.cert).is_absolute() && fs::path(listener.tls.key).is_absolute(),
                       "relative cert/key path " + escaped(listener.tls.cert) + context());
            FUZZ_CHECK(dance::why_invalid_name(listener.tls.client_id).empty(),
                       "client_id " + escaped(listener.tls.client_id) + context());
        }
    }
    return 0;
}
