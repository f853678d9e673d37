// Interop plugin (c): ask an authorization service through an HTTP callout, then allow or deny.
// Directives (see lib/directives.ts):
//   cluster NAME            upstream cluster of the callout (required)
//   path PATH               :path of the callout (default /check)
//   authority HOST          :authority of the callout (default auth)
//   timeout MS              callout timeout (default 1000)
//   forward-header NAME     copy this request header onto the callout (repeatable)
//   result-header NAME      on allow, the callout body is added to the request under this name
// The request pauses until the answer: status 200 allows it (and adds the result header); any other status
// denies it with 403 and the service's status in `x-auth-status`; no answer at all (failed or cancelled
// callout) denies it with 503.
export * from "@solo-io/proxy-runtime/proxy";
import {
  Context, FilterHeadersStatusValues, GrpcStatusValues, HeaderPair, Headers, LogLevelValues, RootContext,
  continue_request, log, registerRootContext, send_local_response, stream_context,
} from "@solo-io/proxy-runtime";
import { BufferTypeValues, WasmResultValues, get_buffer_bytes } from "@solo-io/proxy-runtime/runtime";
import { parseDirectives } from "./lib/directives";

function pair(key: string, value: string): HeaderPair {
  return new HeaderPair(String.UTF8.encode(key), String.UTF8.encode(value));
}

function deny(status: u32, body: string, headers: Headers): void {
  send_local_response(status, "as_http_callout_denied", String.UTF8.encode(body), headers,
    GrpcStatusValues.InvalidCode);
}

class CalloutRoot extends RootContext {
  cluster: string = "";
  path: string = "/check";
  authority: string = "auth";
  timeoutMs: u32 = 1000;
  forwardHeaders: string[] = [];
  resultHeader: string = "x-auth-result";

  onConfigure(configuration_size: u32): bool {
    if (!super.onConfigure(configuration_size)) {
      return false;
    }
    const parsed = parseDirectives(this.getConfiguration());
    for (let i = 0; i < parsed.length; i++) {
      const d = parsed[i];
      if (d.verb == "cluster") {
        this.cluster = d.arg;
      } else if (d.verb == "path") {
        this.path = d.arg;
      } else if (d.verb == "authority") {
        this.authority = d.arg;
      } else if (d.verb == "timeout") {
        this.timeoutMs = U32.parseInt(d.arg);
      } else if (d.verb == "forward-header") {
        this.forwardHeaders.push(d.arg);
      } else if (d.verb == "result-header") {
        this.resultHeader = d.arg;
      } else {
        log(LogLevelValues.error, "http_callout: unknown directive '" + d.verb + "'");
        return false;
      }
    }
    return this.cluster.length > 0;
  }

  createContext(context_id: u32): Context {
    return new CalloutStream(context_id, this);
  }
}

// Runs on the root with the originating stream made the effective context by the SDK.
function onAuthResponse(origin: Context, headers: u32, body_size: usize, _trailers: u32): void {
  const root = origin.root_context as CalloutRoot;
  if (headers == 0) {
    deny(503, "authorization service unavailable", []);
    return;
  }
  const status = stream_context.headers.http_callback.get(":status");
  const body = String.UTF8.decode(get_buffer_bytes(BufferTypeValues.HttpCallResponseBody, 0, body_size as u32));
  if (status == "200") {
    stream_context.headers.request.add(root.resultHeader, body);
    continue_request();
  } else {
    deny(403, "denied by authorization service", [pair("x-auth-status", status)]);
  }
}

class CalloutStream extends Context {
  onRequestHeaders(_headers: u32, _end_of_stream: bool): FilterHeadersStatusValues {
    const root = this.root_context as CalloutRoot;
    const request = stream_context.headers.request;
    const callout: Headers = [pair(":method", "GET"), pair(":path", root.path), pair(":authority", root.authority),
      pair("x-original-path", request.get(":path"))];
    for (let i = 0; i < root.forwardHeaders.length; i++) {
      const value = request.get(root.forwardHeaders[i]);
      if (value.length > 0) {
        callout.push(pair(root.forwardHeaders[i], value));
      }
    }
    const result = root.httpCall(root.cluster, callout, new ArrayBuffer(0), [], root.timeoutMs, this, onAuthResponse);
    if (result != WasmResultValues.Ok) {
      log(LogLevelValues.error, "http_callout: proxy_http_call failed with status " + result.toString());
      deny(500, "authorization callout failed", []);
    }
    return FilterHeadersStatusValues.StopIteration;
  }
}

registerRootContext((context_id: u32) => { return new CalloutRoot(context_id) as RootContext; }, "as_http_callout");
