// Interop plugin (a): header manipulation driven by the plugin configuration.
// Directives (see lib/directives.ts):
//   request-add|request-set|request-remove NAME [VALUE]    applied in onRequestHeaders
//   response-add|response-set|response-remove NAME [VALUE] applied in onResponseHeaders
//   echo REQUEST_HEADER RESPONSE_HEADER    copies a request header's value onto the response
//   count RESPONSE_HEADER                  number of request headers (pseudo-headers included)
// An unknown directive makes onConfigure return false, so the host must reject the configuration.
export * from "@solo-io/proxy-runtime/proxy";
import {
  Context, FilterHeadersStatusValues, LogLevelValues, RootContext, log, registerRootContext, stream_context,
} from "@solo-io/proxy-runtime";
import { Directive, parseDirectives } from "./lib/directives";

const VERBS = ["request-add", "request-set", "request-remove", "response-add", "response-set",
  "response-remove", "echo", "count"];

class HeadersRoot extends RootContext {
  directives: Directive[] = [];

  onConfigure(configuration_size: u32): bool {
    if (!super.onConfigure(configuration_size)) {
      return false;
    }
    const parsed = parseDirectives(this.getConfiguration());
    for (let i = 0; i < parsed.length; i++) {
      if (!VERBS.includes(parsed[i].verb) || parsed[i].arg.length == 0) {
        log(LogLevelValues.error, "headers: bad directive '" + parsed[i].verb + "'");
        return false;
      }
    }
    this.directives = parsed;
    return true;
  }

  createContext(context_id: u32): Context {
    return new HeadersStream(context_id, this);
  }
}

class HeadersStream extends Context {
  // Request values captured for `echo`: the request map is gone by the time the response arrives.
  echoed: Map<string, string> = new Map();
  requestHeaderCount: i32 = 0;

  directives(): Directive[] {
    return (this.root_context as HeadersRoot).directives;
  }

  onRequestHeaders(_headers: u32, _end_of_stream: bool): FilterHeadersStatusValues {
    const request = stream_context.headers.request;
    this.requestHeaderCount = request.get_headers().length;
    const directives = this.directives();
    for (let i = 0; i < directives.length; i++) {
      const d = directives[i];
      if (d.verb == "echo") {
        this.echoed.set(d.rest, request.get(d.arg));
      } else if (d.verb == "request-add") {
        request.add(d.arg, d.rest);
      } else if (d.verb == "request-set") {
        request.replace(d.arg, d.rest);
      } else if (d.verb == "request-remove") {
        request.remove(d.arg);
      }
    }
    return FilterHeadersStatusValues.Continue;
  }

  onResponseHeaders(_headers: u32, _end_of_stream: bool): FilterHeadersStatusValues {
    const response = stream_context.headers.response;
    const directives = this.directives();
    for (let i = 0; i < directives.length; i++) {
      const d = directives[i];
      if (d.verb == "echo" && this.echoed.get(d.rest).length > 0) {
        response.replace(d.rest, this.echoed.get(d.rest));
      } else if (d.verb == "count") {
        response.replace(d.arg, this.requestHeaderCount.toString());
      } else if (d.verb == "response-add") {
        response.add(d.arg, d.rest);
      } else if (d.verb == "response-set") {
        response.replace(d.arg, d.rest);
      } else if (d.verb == "response-remove") {
        response.remove(d.arg);
      }
    }
    return FilterHeadersStatusValues.Continue;
  }
}

registerRootContext((context_id: u32) => { return new HeadersRoot(context_id) as RootContext; }, "as_headers");
