// Interop plugin (e): shared data with CAS and a shared queue.
// Directives (see lib/directives.ts):
//   key NAME       shared-data key of the request counter (default as_shared.requests)
//   queue NAME     shared queue the request paths are sent to (default as_shared.paths)
// Each request increments the counter with compare-and-swap (retrying on CAS_MISMATCH), is tagged with the new
// value in `x-shared-count`, and enqueues its :path. The root that registered the queue drains it when the
// host reports it ready, counting paths in the `as_shared.dequeued` counter and logging each one.
// The SDK's own shared-data helpers pass wrong out-pointers in 0.1.8, so this plugin calls the SDK's imports.
export * from "@solo-io/proxy-runtime/proxy";
import {
  Context, Counter, FilterHeadersStatusValues, LogLevelValues, RootContext, log, registerRootContext,
  stream_context,
} from "@solo-io/proxy-runtime";
import * as imports from "@solo-io/proxy-runtime/imports";
import { free } from "@solo-io/proxy-runtime/malloc";
import { Reference, WasmResultValues } from "@solo-io/proxy-runtime/runtime";
import { parseDirectives } from "./lib/directives";

const MAX_ATTEMPTS = 8;

const dataPtr = new Reference<usize>();
const dataSize = new Reference<usize>();
const casOut = new Reference<u32>();
const queueId = new Reference<u32>();

// Takes ownership of a host-allocated result (the SDK's malloc retains it; the ArrayBuffer now holds it).
function takeResult(): ArrayBuffer {
  if (dataSize.data == 0) {
    return new ArrayBuffer(0);
  }
  const result = changetype<ArrayBuffer>(dataPtr.data);
  free(dataPtr.data);
  return result;
}

// Adds one to the decimal counter under `key`; returns the new value, or 0 when every attempt lost the race.
function incrementShared(key: string): u32 {
  const keyBytes = String.UTF8.encode(key);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let current: u32 = 0;
    let cas: u32 = 0;
    const found = imports.proxy_get_shared_data(changetype<usize>(keyBytes), keyBytes.byteLength, dataPtr.ptr(),
      dataSize.ptr(), casOut.ptr());
    if (found == WasmResultValues.Ok) {
      current = U32.parseInt(String.UTF8.decode(takeResult()));
      cas = casOut.data;
    } else if (found != WasmResultValues.NotFound) {
      return 0;
    }
    const next = String.UTF8.encode((current + 1).toString());
    const stored = imports.proxy_set_shared_data(changetype<usize>(keyBytes), keyBytes.byteLength,
      changetype<usize>(next), next.byteLength, cas);
    if (stored == WasmResultValues.Ok) {
      return current + 1;
    }
  }
  return 0;
}

class SharedRoot extends RootContext {
  key: string = "as_shared.requests";
  queue: u32 = 0;
  dequeued: Counter | null = null;

  onConfigure(configuration_size: u32): bool {
    if (!super.onConfigure(configuration_size)) {
      return false;
    }
    let queueName = "as_shared.paths";
    const parsed = parseDirectives(this.getConfiguration());
    for (let i = 0; i < parsed.length; i++) {
      const d = parsed[i];
      if (d.verb == "key") {
        this.key = d.arg;
      } else if (d.verb == "queue") {
        queueName = d.arg;
      } else {
        log(LogLevelValues.error, "shared_queue: unknown directive '" + d.verb + "'");
        return false;
      }
    }
    const name = String.UTF8.encode(queueName);
    if (imports.proxy_register_shared_queue(changetype<usize>(name), name.byteLength, queueId.ptr()) != 0) {
      return false;
    }
    this.queue = queueId.data;
    this.dequeued = new Counter("as_shared.dequeued");
    return true;
  }

  onQueueReady(token: u32): void {
    while (imports.proxy_dequeue_shared_queue(token, dataPtr.ptr(), dataSize.ptr()) == WasmResultValues.Ok) {
      log(LogLevelValues.info, "shared_queue: dequeued " + String.UTF8.decode(takeResult()));
      (this.dequeued as Counter).increment(1);
    }
  }

  createContext(context_id: u32): Context {
    return new SharedStream(context_id, this);
  }
}

class SharedStream extends Context {
  onRequestHeaders(_headers: u32, _end_of_stream: bool): FilterHeadersStatusValues {
    const root = this.root_context as SharedRoot;
    const request = stream_context.headers.request;
    request.replace("x-shared-count", incrementShared(root.key).toString());
    const path = String.UTF8.encode(request.get(":path"));
    imports.proxy_enqueue_shared_queue(root.queue, changetype<usize>(path), path.byteLength);
    return FilterHeadersStatusValues.Continue;
  }
}

registerRootContext((context_id: u32) => { return new SharedRoot(context_id) as RootContext; }, "as_shared_queue");
