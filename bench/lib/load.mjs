/**
 * Load generation with autocannon (in the harness process, pinned to the load core): N keep-alive connections,
 * closed loop for throughput, `overallRate` for latency at a fixed rate. Every answer is checked while timing:
 * a non-2xx status, a connection error, a timeout or a body carrying GraphQL `errors` is returned as `failure`,
 * and the harness fails the run (exit code 1, the failures listed in the results) after finishing the remaining
 * measurements, so one long run still reports everything it measured.
 */
import http from 'node:http';
import autocannon from 'autocannon';

export class BenchFailure extends Error {}

/** Round-robin over the targets (organizations): each request takes the next one. */
function rotating(spec, targets) {
  let next = 0;
  return [
    {
      setupRequest(request) {
        const r = spec.request(targets[next++ % targets.length]);
        return { ...request, method: r.method, path: r.path, headers: { ...r.headers }, body: r.body };
      },
    },
  ];
}

export async function load(url, spec, targets, { seconds, connections, rate, label }) {
  const first = spec.request(targets[0]);
  const result = await autocannon({
    url,
    method: first.method,
    connections,
    duration: seconds,
    requests: rotating(spec, targets),
    verifyBody: (body) => !body.includes('"errors"'),
    ...(rate ? { overallRate: rate } : {}),
  });
  const bad = result.non2xx + result.errors + result.timeouts + result.mismatches;
  const failure =
    bad > 0
      ? `${label}: ${result.non2xx} non-2xx, ${result.errors} connection errors, ${result.timeouts} timeouts, ` +
        `${result.mismatches} answers with GraphQL errors, of ${result.requests.total} (status codes: ${JSON.stringify(result.statusCodeStats)})`
      : null;
  const requests = result.requests.total;
  return {
    requests,
    rps: Number((requests / (result.duration || seconds)).toFixed(1)),
    p50: result.latency.p50,
    p99: result.latency.p99,
    bytesPerRequest: requests ? Math.round(result.throughput.total / requests) : 0,
    ...(failure ? { failure } : {}),
  };
}

/**
 * One request, outside the timed part: status and parsed body. node:http with an explicit agent: a fresh
 * connection by default, or the caller's keep-alive agent for a sequence of requests.
 */
export function once(url, spec, target, agent = false) {
  const r = spec.request(target);
  return new Promise((resolve, reject) => {
    const request = http.request(url + r.path, { method: r.method, headers: r.headers, agent }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body;
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
        resolve({ status: response.statusCode, body, bytes: Buffer.byteLength(text) });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(r.body);
  });
}

/**
 * Latency at a fixed rate, open loop: request i is due at start + i/rate whether or not earlier ones have
 * answered, over `connections` keep-alive sockets (requests wait for a free socket in the agent's queue), and
 * its latency counts from when it was due, so a stall shows up in the percentiles instead of slowing the
 * sender down (no coordinated omission). Sub-millisecond resolution (autocannon's histogram keeps whole ms).
 */
export async function fixedRate(url, spec, targets, { rate, seconds, connections, label }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const total = Math.max(1, Math.round(rate * seconds));
  const latencies = [];
  let bad = 0;
  let example = '';
  const started = performance.now();
  const inFlight = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(
      once(url, spec, targets[i % targets.length], agent).then(
        (r) => {
          latencies.push(performance.now() - due);
          if (r.status < 200 || r.status > 299 || (typeof r.body === 'object' && r.body?.errors)) {
            bad++;
            example ||= `${r.status} ${JSON.stringify(r.body).slice(0, 200)}`;
          }
        },
        (error) => {
          bad++;
          example ||= String(error);
        },
      ),
    );
  }
  await Promise.all(inFlight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (p) => Number(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(2));
  return {
    requests: total,
    achievedRate: Number((total / ((performance.now() - started) / 1000)).toFixed(1)),
    p50: at(0.5),
    p99: at(0.99),
    ...(bad
      ? { failure: `${label}: ${bad} of ${total} answers were not 2xx or carried GraphQL errors (e.g. ${example})` }
      : {}),
  };
}

export const keepAliveAgent = () => new http.Agent({ keepAlive: true, maxSockets: 1 });
