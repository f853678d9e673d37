// Interop plugin (b): deny matching requests with a local response.
// Directives (see lib/directives.ts):
//   deny-header NAME         deny when the request carries this header
//   deny-path PREFIX         deny when :path starts with PREFIX
//   status CODE              status of the local response (default 403)
//   body TEXT                body of the local response
//   reply-header NAME VALUE  extra header on the local response (repeatable)
// Allowed requests continue untouched; denied ones never reach the upstream.
export * from "@solo-io/proxy-runtime/proxy";
import {
  Context, FilterHeadersStatusValues, GrpcStatusValues, HeaderPair, Headers, LogLevelValues, RootContext, log,
  registerRootContext, send_local_response, stream_context,
} from "@solo-io/proxy-runtime";
import { parseDirectives } from "./lib/directives";

class DenyRoot extends RootContext {
  denyHeaders: string[] = [];
  denyPaths: string[] = [];
  status: u32 = 403;
  body: string = "";
  replyHeaders: Headers = [];

  onConfigure(configuration_size: u32): bool {
    if (!super.onConfigure(configuration_size)) {
      return false;
    }
    const parsed = parseDirectives(this.getConfiguration());
    for (let i = 0; i < parsed.length; i++) {
      const d = parsed[i];
      if (d.verb == "deny-header") {
        this.denyHeaders.push(d.arg);
      } else if (d.verb == "deny-path") {
        this.denyPaths.push(d.arg);
      } else if (d.verb == "status") {
        this.status = U32.parseInt(d.arg);
      } else if (d.verb == "body") {
        this.body = (d.arg + " " + d.rest).trim();
      } else if (d.verb == "reply-header") {
        this.replyHeaders.push(new HeaderPair(String.UTF8.encode(d.arg), String.UTF8.encode(d.rest)));
      } else {
        log(LogLevelValues.error, "local_response: unknown directive '" + d.verb + "'");
        return false;
      }
    }
    return this.status >= 200 && this.status <= 599;
  }

  createContext(context_id: u32): Context {
    return new DenyStream(context_id, this);
  }
}

class DenyStream extends Context {
  onRequestHeaders(_headers: u32, _end_of_stream: bool): FilterHeadersStatusValues {
    const root = this.root_context as DenyRoot;
    const request = stream_context.headers.request;
    let denied = false;
    for (let i = 0; i < root.denyHeaders.length; i++) {
      // The SDK maps NOT_FOUND to "", so presence means a non-empty value here.
      denied = denied || request.get(root.denyHeaders[i]).length > 0;
    }
    const path = request.get(":path");
    for (let i = 0; i < root.denyPaths.length; i++) {
      denied = denied || path.startsWith(root.denyPaths[i]);
    }
    if (!denied) {
      return FilterHeadersStatusValues.Continue;
    }
    log(LogLevelValues.info, "local_response: denying " + path);
    send_local_response(root.status, "denied by as_local_response", String.UTF8.encode(root.body),
      root.replyHeaders, GrpcStatusValues.InvalidCode);
    return FilterHeadersStatusValues.StopIteration;
  }
}

registerRootContext((context_id: u32) => { return new DenyRoot(context_id) as RootContext; }, "as_local_response");
