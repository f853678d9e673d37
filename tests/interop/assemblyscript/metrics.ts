// Interop plugin (d): metrics and the tick timer.
// Directives (see lib/directives.ts):
//   prefix NAME     metric name prefix (default as_metrics)
//   tick-ms N       tick period in milliseconds (default: no timer)
// Metrics: counter <prefix>.requests (one per request), gauge <prefix>.active (streams between their request
// headers and their log callback), counter <prefix>.ticks (one per timer tick).
export * from "@solo-io/proxy-runtime/proxy";
import {
  Context, Counter, FilterHeadersStatusValues, Gauge, LogLevelValues, RootContext, log, registerRootContext,
} from "@solo-io/proxy-runtime";
import { set_tick_period_milliseconds } from "@solo-io/proxy-runtime/runtime";
import { parseDirectives } from "./lib/directives";

class MetricsRoot extends RootContext {
  requests: Counter | null = null;
  active: Gauge | null = null;
  ticks: Counter | null = null;

  onConfigure(configuration_size: u32): bool {
    if (!super.onConfigure(configuration_size)) {
      return false;
    }
    let prefix = "as_metrics";
    let tickMs: u32 = 0;
    const parsed = parseDirectives(this.getConfiguration());
    for (let i = 0; i < parsed.length; i++) {
      const d = parsed[i];
      if (d.verb == "prefix") {
        prefix = d.arg;
      } else if (d.verb == "tick-ms") {
        tickMs = U32.parseInt(d.arg);
      } else {
        log(LogLevelValues.error, "metrics: unknown directive '" + d.verb + "'");
        return false;
      }
    }
    this.requests = new Counter(prefix + ".requests");
    this.active = new Gauge(prefix + ".active");
    this.ticks = new Counter(prefix + ".ticks");
    if (tickMs > 0) {
      set_tick_period_milliseconds(tickMs);
    }
    return true;
  }

  onTick(): void {
    (this.ticks as Counter).increment(1);
  }

  createContext(context_id: u32): Context {
    return new MetricsStream(context_id, this);
  }
}

class MetricsStream extends Context {
  counted: bool = false;

  onRequestHeaders(_headers: u32, _end_of_stream: bool): FilterHeadersStatusValues {
    const root = this.root_context as MetricsRoot;
    (root.requests as Counter).increment(1);
    (root.active as Gauge).increment(1);
    this.counted = true;
    return FilterHeadersStatusValues.Continue;
  }

  onLog(): void {
    if (this.counted) {
      ((this.root_context as MetricsRoot).active as Gauge).increment(-1);
    }
  }
}

registerRootContext((context_id: u32) => { return new MetricsRoot(context_id) as RootContext; }, "as_metrics");
