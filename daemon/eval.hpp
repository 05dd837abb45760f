// `kpid eval`: collect every KPI (or one) once, compute derived KPIs, print the result.
// Notifies nobody and writes no state.
#pragma once

#include <ostream>
#include <string>

#include "daemon/config/config.hpp"

namespace kpid {

enum class EvalFormat { kTable, kJson };

// Returns the exit code: 0 when every selected KPI has a value, 1 otherwise (and 1 with a
// message on stderr when `only_kpi` names no KPI).
int RunEval(const config::Config& config, const std::string& only_kpi, EvalFormat format,
            std::ostream& out, std::ostream& err);

}  // namespace kpid
