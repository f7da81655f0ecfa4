// The process_* series other exporters give (Prometheus client_golang's process collector), read from procfs
// at each scrape: CPU seconds, resident and virtual memory, open and maximum descriptors, start time.
#pragma once

#include <string>
#include <vector>

#include <prometheus/metric_family.h>

namespace dance::proxy {

// Families for the process behind `proc_dir` ("/proc/self"); those that cannot be read are left out.
std::vector<prometheus::MetricFamily> collect_process_metrics(const std::string& proc_dir = "/proc/self");

}  // namespace dance::proxy
