// `kpid eval`: collect every KPI (or one) once, compute derived KPIs, judge every goal
// (with the history in the daemon's store, read-only, when there is one) and print value,
// status, progress, expected value, gap, forecast and days left. Notifies nobody and
// writes no state.
#pragma once

#include <ostream>
#include <string>

#include "daemon/config/config.hpp"

namespace kpid {

enum class EvalFormat { kTable, kJson };

// Returns the exit code: 0 when every selected KPI has a fresh value, 1 otherwise (and 1 with a
// message on stderr when `only_kpi` names no KPI).
int RunEval(const config::Config& config, const std::string& only_kpi, EvalFormat format,
            std::ostream& out, std::ostream& err);

}  // namespace kpid
