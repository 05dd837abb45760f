// The sql collector: KPI values from SQL queries through SOCI (sqlite3, postgresql, mysql,
// odbc). One collector per [[source]] owns a pool of at most max_concurrency connections
// and as many worker threads; Collect() never blocks the io thread.
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>

#include "collectors/collector.hpp"
#include "daemon/config/config.hpp"

namespace kpid::collectors::sql {

// `source` must be a validated `type = "sql"` source. No I/O: connections open on the
// first Collect() and are kept; one that failed is dropped, so the next call reconnects.
std::unique_ptr<Collector> Make(const config::Source& source, boost::asio::io_context& io);

}  // namespace kpid::collectors::sql
