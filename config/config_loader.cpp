#include "config/config_loader.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "config/load_context.hpp"
#include "config/section_readers.hpp"

namespace dance::config {
namespace {

const std::vector<std::string_view> top_level_keys = {"log",     "admin",           "workers",       "drain_timeout_ms",
                                                      "dns",     "dane_clientid",   "inbound",       "outbound"};

std::optional<YAML::Node> parse_yaml(LoadContext& context, std::string_view text) {
    try {
        return YAML::Load(std::string(text));
    } catch (const YAML::Exception& error) {
        context.report(error.mark, "", "YAML syntax error: " + error.msg);
        return std::nullopt;
    }
}

void read_sections(const YamlMap& root, Config& config) {
    read_log(root, config.log);
    read_admin(root, config.admin);
    read_process_settings(root, config);
    read_dns(root, config.dns);
    read_inbound_listeners(root, config.inbound);
    read_outbound_listeners(root, config.outbound);
    bool listener_list_unreadable = (root.value("inbound") && !root.value("inbound")->IsSequence()) ||
                                    (root.value("outbound") && !root.value("outbound")->IsSequence());
    if (config.inbound.empty() && config.outbound.empty() && !listener_list_unreadable)
        root.context().report(YAML::Mark(), "", "no listeners: configure at least one inbound or outbound listener");
}

LoadResult finish(const LoadContext& context, Config config) {
    LoadResult result;
    if (context.has_errors())
        result.errors = context.sorted_errors();
    else
        result.config = std::move(config);
    return result;
}

}  // namespace

LoadResult load_config_text(std::string_view text, const std::string& display_name,
                            const std::filesystem::path& base_dir) {
    LoadContext context(display_name,
                        base_dir.empty() ? std::filesystem::path(display_name).parent_path() : base_dir);
    Config config;
    config.source_file = display_name;
    std::optional<YAML::Node> document = parse_yaml(context, text);
    if (!document) return finish(context, std::move(config));
    if (!document->IsMap() && !document->IsNull()) {
        context.report(document->Mark(), "", "expected a mapping of settings at the top of the file, got " +
                                                 describe(*document));
        return finish(context, std::move(config));
    }
    read_sections(YamlMap(context, *document, "", top_level_keys, YAML::Mark()), config);
    check_listeners_do_not_collide(context, config);
    return finish(context, std::move(config));
}

LoadResult load_config(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    std::error_code ignored;
    if (!file || std::filesystem::is_directory(path, ignored)) {
        int error = file ? EISDIR : errno;
        LoadResult result;
        result.errors.push_back({path, 0, 0, "", std::string("cannot read file: ") + std::strerror(error)});
        return result;
    }
    std::ostringstream text;
    text << file.rdbuf();
    LoadResult result = load_config_text(text.str(), path);
    if (result.config) {
        std::filesystem::path absolute = std::filesystem::absolute(path, ignored);
        if (!absolute.empty()) result.config->source_file = absolute.lexically_normal().string();
    }
    return result;
}

}  // namespace dance::config
