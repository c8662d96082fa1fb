/**
 * What sits between a client and a site adds headers to every request it passes on: a CDN or a cloud load
 * balancer in front of the site (the site's *edge*, the same for all its traffic, attacks included), and now
 * and then a forward proxy on the client's side. No header generator knows them, and a request is not an
 * attack because it came through Cloudflare, an AWS load balancer or a corporate proxy: synthesised traffic
 * carries them so that the model learns them as context, not as evidence. Cloudflare's own `cf-*` headers and
 * `cdn-loop` are not read by the extractor (`SKIP_HEADERS`); they are sent anyway, as the origin sees them.
 *
 * @module
 */
import { hashString, type Rng } from "../util/rng.ts";
import { randomString, uuid } from "./values.ts";

/** The edges a site sits behind (or none). */
export const EDGES = ["none", "cloudflare", "fastly", "akamai", "aws", "gcp", "azure", "nginx"] as const;
/** One edge. */
export type Edge = typeof EDGES[number];

/** Weights of the edges over sites: most sites sit behind something. */
const EDGE_WEIGHTS = [0.3, 0.2, 0.06, 0.06, 0.14, 0.06, 0.06, 0.12];

/** Share of requests that came through a forward proxy on the client's side (`Via`, `X-Forwarded-For`). */
export const CLIENT_PROXY_RATE = 0.04;

/** The edge of a site, a function of its host (stable over runs and over its requests). */
export function edgeOf(host: string): Edge {
  let u = (hashString(`edge:${host}`) >>> 0) / 2 ** 32;
  for (let i = 0; i < EDGES.length; i++) {
    u -= EDGE_WEIGHTS[i];
    if (u < 0) return EDGES[i];
  }
  return "none";
}

const hex = (rng: Rng, n: number) => randomString(rng, "0123456789abcdef", n);
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const FIRST_OCTETS = [31, 46, 77, 81, 85, 92, 103, 176, 185, 188, 190, 197, 203];
const COUNTRIES = ["US", "DE", "FR", "GB", "IN", "BR", "JP", "NL", "PL", "TR", "ES", "IT"];
const COLOS = ["FRA", "AMS", "LHR", "CDG", "IAD", "SJC", "NRT", "GRU", "BOM"];
const PROXIES = ["1.1 proxy.corp.example", "1.1 squid (squid/5.7)", "HTTP/1.1 bluecoat", "1.1 varnish"];

/** A public client address. */
function clientIp(rng: Rng): string {
  if (rng.chance(0.15)) return `2001:db8:${hex(rng, 4)}:${hex(rng, 4)}::${hex(rng, 1 + rng.int(4))}`;
  return `${rng.pick(FIRST_OCTETS)}.${rng.int(256)}.${rng.int(256)}.${1 + rng.int(254)}`;
}

/** A private hop's address. */
function hopIp(rng: Rng): string {
  return rng.chance(0.5)
    ? `10.${rng.int(256)}.${rng.int(256)}.${1 + rng.int(254)}`
    : `172.${16 + rng.int(16)}.${rng.int(256)}.${1 + rng.int(254)}`;
}

/**
 * The headers an edge adds to one request (none for `none`), and those of a client-side proxy if it came
 * through one.
 *
 * @param rng The request's random stream.
 * @param edge The site's edge (`edgeOf`).
 * @param host The site's host.
 * @param proxy Whether the request came through a client-side proxy (default: at `CLIENT_PROXY_RATE`).
 */
export function edgeHeaders(
  rng: Rng,
  edge: Edge,
  host: string,
  proxy: boolean = rng.chance(CLIENT_PROXY_RATE),
): [string, string][] {
  const ip = clientIp(rng);
  const h: [string, string][] = [];
  let xff = ip;
  if (proxy) {
    h.push(["via", rng.chance(0.8) ? rng.pick(PROXIES) : `1.0 fw${rng.int(9)}.example.net`]);
    xff = `${ip}, ${hopIp(rng)}`;
  }
  const proto = rng.chance(0.97) ? "https" : "http";
  switch (edge) {
    case "none":
      if (proxy) h.push(["x-forwarded-for", xff]);
      break;
    case "cloudflare":
      h.push(
        ["cf-connecting-ip", ip],
        ["cf-ipcountry", rng.pick(COUNTRIES)],
        ["cf-ray", `${hex(rng, 16)}-${rng.pick(COLOS)}`],
        ["cf-visitor", `{"scheme":"${proto}"}`],
        ["cdn-loop", "cloudflare"],
        ["x-forwarded-for", xff],
        ["x-forwarded-proto", proto],
      );
      if (rng.chance(0.5)) h.push(["x-real-ip", ip]);
      break;
    case "fastly":
      h.push(
        ["fastly-client-ip", ip],
        ["x-forwarded-for", xff],
        ["fastly-ssl", "1"],
        ["x-varnish", String(1e8 + rng.int(9e8))],
        ["via", "1.1 varnish"],
      );
      break;
    case "akamai":
      h.push(
        ["true-client-ip", ip],
        ["x-forwarded-for", `${xff}, ${clientIp(rng)}`],
        ["via", "1.1 akamai.net(ghost) (AkamaiGHost)"],
        ["akamai-origin-hop", String(1 + rng.int(3))],
      );
      break;
    case "aws":
      h.push(
        ["x-forwarded-for", xff],
        ["x-forwarded-proto", proto],
        ["x-forwarded-port", proto === "https" ? "443" : "80"],
        ["x-amzn-trace-id", `Root=1-${hex(rng, 8)}-${hex(rng, 24)}`],
      );
      if (rng.chance(0.3)) {
        h.push(["via", `2.0 ${hex(rng, 32)}.cloudfront.net (CloudFront)`]);
        h.push(["x-amz-cf-id", randomString(rng, B64URL, 56)]);
      }
      break;
    case "gcp":
      h.push(
        ["x-forwarded-for", `${xff}, ${clientIp(rng)}`],
        ["x-forwarded-proto", proto],
        ["x-cloud-trace-context", `${hex(rng, 32)}/${String(1e15 + rng.int(9e15))};o=1`],
        ["via", "1.1 google"],
      );
      if (rng.chance(0.5)) h.push(["forwarded", `for="${ip}";proto=${proto}`]);
      break;
    case "azure":
      h.push(
        ["x-forwarded-for", `${xff}:${1024 + rng.int(60000)}`],
        ["x-forwarded-host", host],
        ["x-azure-clientip", ip],
        ["x-azure-ref", `0${randomString(rng, B64URL, 60)}`],
        ["x-original-host", host],
      );
      break;
    case "nginx":
      h.push(["x-real-ip", ip], ["x-forwarded-for", xff], ["x-forwarded-proto", proto]);
      if (rng.chance(0.5)) h.push(["x-forwarded-host", host]);
      if (rng.chance(0.4)) h.push(["x-request-id", rng.chance(0.5) ? hex(rng, 32) : uuid(rng)]);
      break;
  }
  return h;
}
