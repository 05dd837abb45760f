#include "daemon/web/assets.hpp"

namespace kpid::web {
namespace {

constexpr std::string_view kStylesheet = R"css(:root {
  --fg: #1b1f24; --muted: #57606a; --bg: #f6f8fa; --card: #fff; --line: #d0d7de;
  --link: #0b5cad;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; color: var(--fg); background: var(--bg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
}
a { color: var(--link); }
a:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
.skip { position: absolute; left: -10000px; top: 8px; }
.skip:focus { left: 8px; z-index: 10; background: #fff; padding: 4px 8px; }
.top {
  background: #1b1f24; color: #fff; padding: 12px 20px;
  display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: baseline;
}
.top h1 { font-size: 1.35rem; margin: 0; }
.top a { color: #fff; }
.top .meta { color: #d0d7de; font-size: .875rem; margin: 0; }
main { display: block; max-width: 1240px; margin: 0 auto; padding: 16px; }
h2 { font-size: 1.15rem; margin: 20px 0 8px; }
.muted, .note { color: var(--muted); }
.note { font-size: .875rem; margin: 4px 0 8px; }
.summary { display: flex; flex-wrap: wrap; gap: 8px; list-style: none; padding: 0; margin: 0; }
.summary a, .summary span.count {
  display: inline-flex; gap: 6px; align-items: baseline; padding: 4px 10px;
  border-radius: 6px; background: var(--card); border: 1px solid var(--line);
  color: var(--fg); text-decoration: none;
}
.summary a:hover { border-color: var(--fg); }
.summary a[aria-current] { outline: 2px solid var(--fg); }
.summary .n { font-weight: 700; font-size: 1.1rem; }
.filters { margin: 8px 0 0; }
.badge {
  display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: .8125rem;
  font-weight: 600; color: #fff; white-space: nowrap; vertical-align: middle;
}
.st-missed { background: #7a1f1f; fill: #7a1f1f; border-color: #7a1f1f; }
.st-off_track { background: #b42318; fill: #b42318; border-color: #b42318; }
.st-at_risk { background: #8a5300; fill: #8a5300; border-color: #8a5300; }
.st-no_data { background: #545b66; fill: #545b66; border-color: #545b66; }
.st-on_track { background: #1a7f37; fill: #1a7f37; border-color: #1a7f37; }
.st-achieved { background: #0b5cad; fill: #0b5cad; border-color: #0b5cad; }
.st-no_goal { background: #6e4ea8; fill: #6e4ea8; border-color: #6e4ea8; }
.st-pending { background: #57606a; fill: #57606a; border-color: #57606a; }
.sev-critical { background: #b42318; }
.sev-warning { background: #8a5300; }
.sev-info { background: #0b5cad; }
.ph-pending { background: #57606a; }
.ph-resolved, .ph-inactive { background: #1a7f37; }
.kpis {
  list-style: none; padding: 0; margin: 0; display: grid; gap: 12px;
  grid-template-columns: repeat(auto-fill, minmax(340px, 1fr));
}
.kpi {
  background: var(--card); border: 1px solid var(--line); border-left-width: 6px;
  border-radius: 6px; padding: 10px 12px; min-width: 0;
}
.kpi.b-missed { border-left-color: #7a1f1f; }
.kpi.b-off_track { border-left-color: #b42318; }
.kpi.b-at_risk { border-left-color: #8a5300; }
.kpi.b-no_data { border-left-color: #545b66; }
.kpi.b-on_track { border-left-color: #1a7f37; }
.kpi.b-achieved { border-left-color: #0b5cad; }
.kpi.b-no_goal { border-left-color: #6e4ea8; }
.kpi.b-pending { border-left-color: #57606a; }
.kpi:target { outline: 3px solid #0969da; }
.kpi .head { display: flex; gap: 8px; align-items: baseline; justify-content: space-between; }
.kpi h3 { margin: 0; font-size: 1.05rem; overflow-wrap: anywhere; }
.kpi .name { color: var(--muted); font-size: .8125rem; margin: 0; overflow-wrap: anywhere; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 8px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.bar { display: flex; gap: 8px; align-items: center; font-size: .8125rem; color: var(--muted); }
svg.progress { flex: 1; height: 12px; display: block; min-width: 80px; }
svg.spark { display: block; width: 100%; height: auto; margin-top: 6px; }
svg.chart { display: block; width: 100%; height: auto; background: var(--card);
  border: 1px solid var(--line); border-radius: 6px; }
svg .track { fill: #e6e9ed; }
svg .expected { stroke: #1b1f24; stroke-width: 2; vector-effect: non-scaling-stroke; }
svg .hist { fill: none; stroke: #0b5cad; stroke-width: 1.5; stroke-linejoin: round; }
svg.chart .hist { stroke-width: 2; }
svg .last { fill: #0b5cad; }
svg .traj { fill: none; stroke: #57606a; stroke-width: 1.2; stroke-dasharray: 4 3; }
svg .band { fill: #dafbe1; }
svg .warn { stroke: #8a5300; stroke-width: 1; stroke-dasharray: 3 3; }
svg .target { stroke: #1a7f37; stroke-width: 1.2; stroke-dasharray: 8 4; }
svg .forecast { stroke: #8250df; stroke-width: 2; stroke-dasharray: 6 4; }
svg .milestone { fill: #fff; stroke: #57606a; stroke-width: 1.5; }
svg .now { stroke: #8c959f; stroke-width: 1; }
svg .grid { stroke: #eaeef2; stroke-width: 1; }
svg .plot { fill: #fff; }
svg .axis { fill: #57606a; font-size: 12px; font-family: inherit; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; list-style: none; padding: 0;
  margin: 6px 0 0; font-size: .875rem; color: var(--muted); }
.legend li::before { content: ""; display: inline-block; width: 18px; height: 0;
  vertical-align: middle; margin-right: 6px; border-top: 2px solid #0b5cad; }
.legend .l-traj::before { border-top: 2px dashed #57606a; }
.legend .l-target::before { border-top: 2px dashed #1a7f37; }
.legend .l-forecast::before { border-top: 2px dashed #8250df; }
.legend .l-band::before { border-top: 8px solid #dafbe1; }
.legend .l-milestone::before { width: 8px; height: 8px; border: 2px solid #57606a;
  border-radius: 50%; }
ul.alerts, ul.labels { list-style: none; padding: 0; margin: 6px 0 0; }
ul.alerts li { margin: 2px 0; font-size: .875rem; }
ul.labels { display: flex; flex-wrap: wrap; gap: 4px; }
ul.labels a { font-size: .8125rem; padding: 0 6px; border: 1px solid var(--line);
  border-radius: 4px; text-decoration: none; }
.silence { font-size: .875rem; color: var(--muted); margin: 4px 0 0; }
.error { font-size: .875rem; color: #b42318; margin: 4px 0 0; overflow-wrap: anywhere; }
.restatement h3 { font-size: 1rem; margin: 14px 0 6px; }
.restatement table { width: auto; }
ul.changes { list-style: none; padding: 0; margin: 4px 0 8px; }
ul.changes li { margin: 3px 0; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; background: var(--card);
  border: 1px solid var(--line); }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
thead th { background: #eaeef2; }
tbody th[scope=row] { font-weight: 600; color: var(--muted); white-space: nowrap; }
td.num { font-variant-numeric: tabular-nums; }
.pager { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 16px 0; }
.pager a, .pager span { padding: 4px 10px; border: 1px solid var(--line); border-radius: 6px;
  background: var(--card); }
.pager span[aria-current] { font-weight: 700; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 16px; }
footer { max-width: 1240px; margin: 0 auto; padding: 8px 16px 24px; color: var(--muted);
  font-size: .8125rem; }
@media (max-width: 600px) {
  body { font-size: 16px; }
  main { padding: 8px; }
  .top { padding: 10px 12px; }
  .kpis { grid-template-columns: 1fr; }
  th, td { padding: 6px; }
  svg.chart .axis { font-size: 26px; }
}
)css";

constexpr std::string_view kScript = R"js('use strict';
(function () {
  var body = document.body;
  // Alert links point at "/#<kpi>"; a KPI on another page of the list has its own page.
  var id = '';
  try {
    id = decodeURIComponent(location.hash.slice(1));
  } catch (e) { /* a malformed fragment names no KPI */ }
  if (location.pathname === '/' && /^[a-z_][a-z0-9_]*$/.test(id) &&
      !document.getElementById(id)) {
    location.replace('/kpi/' + id);
    return;
  }
  var seconds = Number(body.getAttribute('data-refresh'));
  if (!(seconds >= 5) || !window.fetch || !window.DOMParser) return;
  var refreshed = 0;
  function schedule() { setTimeout(refresh, seconds * 1000); }
  function refresh() {
    var main = document.querySelector('main');
    // Not while the page is hidden or someone is working inside it (focus would be lost).
    if (document.hidden || !main || main.contains(document.activeElement)) {
      schedule();
      return;
    }
    fetch(location.href, { cache: 'no-store', credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, 'text/html');
        var fresh = page.querySelector('main');
        var header = page.querySelector('.top');
        if (fresh) main.replaceWith(document.adoptNode(fresh));
        var oldHeader = document.querySelector('.top');
        if (header && oldHeader) oldHeader.replaceWith(document.adoptNode(header));
        document.title = page.title;
        body.setAttribute('data-refreshed', String(++refreshed));
      })
      .catch(function () { /* keep what is shown; the next round retries */ })
      .then(schedule);
  }
  schedule();
})();
)js";

}  // namespace

std::string_view Stylesheet() { return kStylesheet; }

std::string_view Script() { return kScript; }

}  // namespace kpid::web
