import assert from "node:assert/strict";
import { FEATURE_SPEC } from "../../src/features/mod.ts";
import { workerConfigFromEnv } from "../../src/worker/config.ts";

Deno.test("worker config: defaults", () => {
  assert.deepEqual(workerConfigFromEnv({}), {
    mode: "block",
    tau: undefined,
    engine: "ort",
    failMode: "open",
    logSample: 0.01,
    logFlaggedSample: 1,
    bodyCap: FEATURE_SPEC.caps.body,
    overflow: "score",
    inspectBytes: 65536,
    excludePaths: [],
    excludeClients: [],
    excludeHeaders: [],
    exposeToClient: false,
    origin: undefined,
    learn: false,
    learnFlushMs: 300_000,
    clientHeader: undefined,
  });
  assert.equal(workerConfigFromEnv({}, { TAUGATE_ENGINE: "ts" }).engine, "ts");
  assert.equal(
    workerConfigFromEnv({ TAUGATE_ENGINE: "" }, { TAUGATE_ENGINE: "ts" }).engine,
    "ts",
    "empty = unset",
  );
});

Deno.test("worker config: every variable is read", () => {
  const c = workerConfigFromEnv({
    TAUGATE_MODE: "tag",
    TAUGATE_TAU: " 0.8 ",
    TAUGATE_ENGINE: "ts",
    TAUGATE_FAIL_MODE: "closed",
    TAUGATE_LOG_SAMPLE: "0.5",
    TAUGATE_LOG_FLAGGED_SAMPLE: "0.25",
    TAUGATE_BODY_CAP: "1024",
    TAUGATE_OVERFLOW: "flag",
    TAUGATE_INSPECT_BYTES: "32768",
    TAUGATE_EXCLUDE_PATHS: "/static/*, *.css,,/healthz",
    TAUGATE_EXCLUDE_CLIENTS: "10.0.0.0/8, 2001:db8::/32,192.0.2.7",
    TAUGATE_EXCLUDE_HEADER: "X-Monitor: s3cret:with-colon",
    TAUGATE_EXPOSE: "on",
    TAUGATE_LEARN: "on",
    TAUGATE_LEARN_FLUSH_S: "30",
    TAUGATE_CLIENT_HEADER: " X-Forwarded-For ",
    ORIGIN: "http://127.0.0.1:3000/base/",
    UNRELATED: "x",
  });
  assert.deepEqual(c, {
    mode: "tag",
    tau: 0.8,
    engine: "ts",
    failMode: "closed",
    logSample: 0.5,
    logFlaggedSample: 0.25,
    bodyCap: 1024,
    overflow: "flag",
    inspectBytes: 32768,
    excludePaths: ["/static/*", "*.css", "/healthz"],
    excludeClients: ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"],
    excludeHeaders: [{ name: "x-monitor", value: "s3cret:with-colon" }],
    exposeToClient: true,
    origin: "http://127.0.0.1:3000/base",
    learn: true,
    learnFlushMs: 30_000,
    clientHeader: "x-forwarded-for",
  });
});

Deno.test("worker config: a bad value names its variable", () => {
  const bad: [Record<string, string>, RegExp][] = [
    [{ TAUGATE_MODE: "deny" }, /invalid TAUGATE_MODE/],
    [{ TAUGATE_TAU: "high" }, /invalid TAUGATE_TAU: must be a number/],
    [{ TAUGATE_TAU: "1.5" }, /invalid TAUGATE_TAU/],
    [{ TAUGATE_ENGINE: "onnx" }, /invalid TAUGATE_ENGINE/],
    [{ TAUGATE_FAIL_MODE: "maybe" }, /invalid TAUGATE_FAIL_MODE/],
    [{ TAUGATE_LEARN: "yes" }, /invalid TAUGATE_LEARN/],
    [{ TAUGATE_LEARN_FLUSH_S: "0" }, /invalid TAUGATE_LEARN_FLUSH_S/],
    [{ TAUGATE_CLIENT_HEADER: "x forwarded" }, /invalid TAUGATE_CLIENT_HEADER/],
    [{ TAUGATE_EXCLUDE_CLIENTS: "10.0.0.0/33" }, /invalid TAUGATE_EXCLUDE_CLIENTS/],
    [{ TAUGATE_EXCLUDE_CLIENTS: "example.com" }, /invalid TAUGATE_EXCLUDE_CLIENTS/],
    [{ TAUGATE_EXCLUDE_HEADER: "bad name: v" }, /invalid TAUGATE_EXCLUDE_HEADER/],
    [{ TAUGATE_EXPOSE: "yes" }, /invalid TAUGATE_EXPOSE/],
    [{ TAUGATE_LOG_SAMPLE: "-1" }, /invalid TAUGATE_LOG_SAMPLE/],
    [{ TAUGATE_BODY_CAP: "1.5" }, /invalid TAUGATE_BODY_CAP/],
    [{ TAUGATE_OVERFLOW: "drop" }, /invalid TAUGATE_OVERFLOW/],
    [{ TAUGATE_INSPECT_BYTES: "-1" }, /invalid TAUGATE_INSPECT_BYTES/],
    [{ TAUGATE_BODY_CAP: "99999999" }, /invalid TAUGATE_BODY_CAP/],
    [{ ORIGIN: "not a url" }, /invalid ORIGIN: not a URL/],
    [{ ORIGIN: "ftp://x" }, /invalid ORIGIN: must be http/],
    [{ ORIGIN: "http://x/?q=1" }, /invalid ORIGIN: must not have a query/],
  ];
  for (const [env, re] of bad) {
    assert.throws(() => workerConfigFromEnv(env), (e: Error) => e instanceof TypeError && re.test(e.message));
  }
});
