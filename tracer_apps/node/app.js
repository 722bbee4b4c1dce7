'use strict'
// One real dd-trace-js tracer and its OpenFeature provider, as one fleet member of a run.
//
// Run by the harness as `node app.js --host H --port P` next to a node_modules holding the
// pinned package-lock.json (dd-trace 5.132, @openfeature/server-sdk 1.23), found through
// NODE_PATH. Sequence, as the proposal's load-test app booted its tracer (docs/real-tracers.md):
//
// 1. load the heavy modules without starting the tracer: `require('dd-trace')`, the OpenFeature
//    SDK and every file `tracer.init()` would require (preload.json, relative to node_modules,
//    written by `node app.js --probe-modules preload.json` for the pinned version); then serve
//    /health and /metrics;
// 2. wait for the run's start instant (waitForStart: POST /start with RC_STUB_START_SIGNAL=http,
//    else RC_STUB_START_AT; docs/contracts.md, "The start signal"); GET /ready-to-start
//    answers 200 once step 1 is done;
// 3. start the tracer (`tracer.init()`: its RC client subscribes FFE_FLAGS and polls at once),
//    then register `tracer.openfeature`: `event` mode with the non-blocking setProvider and
//    event handlers, `wait` mode with setProviderAndWait;
// 4. on the provider's PROVIDER_READY event (never inferred), evaluate the flag once.
//
// Every duration is measured from the tracer's start instant (after the barrier): the real RC
// client starts inside tracer.init(), as the stub's starts at its tracer's start.
//
// It reports what the stub reports, under the same metric names (docs/contracts.md, "Tracer
// stub"), for one tracer whose index is RC_STUB_TRACER_INDEX_BASE.

const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const { performance } = require('node:perf_hooks')

const KIND = 'dd-trace-js'
const OUTCOMES = ['pending', 'ready', 'timeout', 'error']

function log (message) {
  console.log(`${(Date.now() / 1000).toFixed(3)} ${KIND}: ${message}`)
}

function monotonic () {
  return performance.now() / 1000
}

/**
 * The fleet's start instant (docs/contracts.md, "The start signal"): POST /start {"start_at": T}
 * when RC_STUB_START_SIGNAL=http (RC_STUB_START_AT is then a deadline), else RC_STUB_START_AT
 * alone (unset: at once).
 */
class StartSignal {
  constructor (env) {
    this.http = (env.RC_STUB_START_SIGNAL || 'at').trim() === 'http'
    const raw = (env.RC_STUB_START_AT || '').trim()
    this.deadline = raw ? Number(raw) : undefined
    this.ready = false // loaded: every file the start requires is in memory
    this.startAt = undefined
    this.released = new Promise((resolve) => { this.resolve = resolve })
  }

  /** GET /ready-to-start */
  state () {
    const body = { ready: this.ready, started: this.startAt !== undefined, tracers: 1 }
    if (this.startAt !== undefined) body.start_at = this.startAt
    return [this.ready ? 200 : 503, body]
  }

  /** POST /start */
  release (raw) {
    let value
    try { value = JSON.parse(raw) } catch { value = undefined }
    const at = value !== null && typeof value === 'object' ? value.start_at : undefined
    if (typeof at !== 'number' || !Number.isFinite(at)) return [400, { error: 'expected {"start_at": <unix seconds>}' }]
    if (!this.ready) return [503, { error: 'not ready to start yet' }]
    if (this.startAt !== undefined && this.startAt !== at) return [409, { error: `already released for ${this.startAt}` }]
    this.startAt = at
    this.resolve()
    return [200, { start_at: at, late_s: Math.max(0, Date.now() / 1000 - at) }]
  }
}

/** The start barrier: resolves at the fleet's start instant. */
async function waitForStart (signal) {
  let at = signal.deadline
  if (signal.http) {
    const released = await new Promise((resolve) => {
      signal.released.then(() => resolve(true))
      if (at !== undefined) setTimeout(() => resolve(false), Math.max(0, at * 1000 - Date.now()))
    })
    if (released) at = signal.startAt
    else log(`no POST /start by the deadline ${at}: starting at the deadline`)
  }
  if (at === undefined) return
  const delay = at * 1000 - Date.now()
  if (delay > 0) {
    log(`waiting ${(delay / 1000).toFixed(3)} s for the start instant`)
    await new Promise((resolve) => setTimeout(resolve, delay))
  } else if (delay < -50) {
    log(`the start instant passed ${(-delay / 1000).toFixed(3)} s ago: starting now`)
  }
}

const PRELOAD = path.join(__dirname, 'preload.json')

function nodeModules () {
  return path.resolve(path.dirname(require.resolve('dd-trace/package.json')), '..')
}

/** Require every file tracer.init() would require; returns [loaded, failed]. */
function preload () {
  if (!fs.existsSync(PRELOAD)) return [0, 0]
  const root = nodeModules()
  let failed = 0
  const files = JSON.parse(fs.readFileSync(PRELOAD, 'utf8'))
  for (const file of files) {
    try { require(path.join(root, file)) } catch { failed++ }
  }
  return [files.length - failed, failed]
}

/** Write the files tracer.init() requires beyond require('dd-trace') (relative to node_modules). */
function probeModules (out) {
  const tracer = require('dd-trace')
  require('@openfeature/server-sdk')
  const before = new Set(Object.keys(require.cache))
  tracer.init()
  tracer.openfeature // eslint-disable-line no-unused-expressions
  const root = nodeModules()
  const added = Object.keys(require.cache).filter((k) => !before.has(k) && k.startsWith(root))
  fs.writeFileSync(out, JSON.stringify(added.map((k) => path.relative(root, k)), null, 0) + '\n')
  console.log(`dd-trace: ${added.length} files written to ${out}`)
  process.exit(0)
}

class Report {
  constructor (index, runId, version) {
    this.label = String(index)
    this.runId = runId
    this.version = version
    this.outcome = 'pending'
    this.gauges = new Map()
    this.providerErrors = 0
  }

  set (name, value) { this.gauges.set(name, value) }

  setOutcome (outcome) {
    if (this.outcome !== 'ready') this.outcome = outcome
  }

  render () {
    const t = `tracer="${this.label}"`
    const num = (v) => (Number.isInteger(v) ? v.toFixed(1) : String(v))
    const lines = ['# TYPE tracer_outcome gauge']
    for (const o of OUTCOMES) lines.push(`tracer_outcome{${t},outcome="${o}"} ${o === this.outcome ? '1.0' : '0.0'}`)
    for (const [name, value] of this.gauges) lines.push(`# TYPE ${name} gauge`, `${name}{${t}} ${num(value)}`)
    lines.push(
      '# TYPE tracer_provider_error_events_total counter',
      `tracer_provider_error_events_total{${t}} ${num(this.providerErrors)}`,
      '# TYPE tracer_hosted gauge', 'tracer_hosted 1.0',
      '# TYPE tracer_settled gauge', `tracer_settled ${this.outcome === 'pending' ? '0.0' : '1.0'}`,
      '# TYPE tracer_run_info gauge', `tracer_run_info{run_id="${this.runId}"} 1.0`,
      '# TYPE tracer_app_info gauge', `tracer_app_info{app="${KIND}",version="${this.version}"} 1.0`
    )
    return lines.join('\n') + '\n'
  }
}

function serve (host, port, report, signal) {
  const server = http.createServer((req, res) => {
    const path = (req.url || '').split('?')[0]
    let status = 200
    let type = 'text/plain; version=0.0.4'
    let body
    if (req.method === 'POST' && path === '/start') {
      let raw = ''
      req.on('data', (chunk) => { raw += chunk })
      req.on('end', () => {
        const [code, answer] = signal.release(raw)
        const text = JSON.stringify(answer)
        res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) })
        res.end(text)
      })
      return
    }
    if (req.method !== 'GET') {
      status = 405; body = 'GET, or POST /start\n'
    } else if (path === '/ready-to-start') {
      const [code, answer] = signal.state()
      status = code; type = 'application/json'; body = JSON.stringify(answer)
    } else if (path === '/metrics') {
      body = report.render()
    } else if (path === '/health') {
      type = 'application/json'
      if (signal.ready) body = '{"status": "ok"}' // 200 once loaded (see the Python app)
      else { status = 503; body = '{"status": "loading"}' }
    } else {
      status = 404; body = 'try /metrics or /health\n'
    }
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) })
    res.end(body)
  })
  server.listen(port, host)
  return server
}

function parseArgs (argv) {
  const out = { host: '127.0.0.1', port: 0 }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--host') out.host = argv[++i]
    else if (argv[i] === '--port') out.port = Number(argv[++i])
    else if (argv[i] === '--probe-modules') out.probe = argv[++i]
  }
  return out
}

async function main () {
  const args = parseArgs(process.argv.slice(2))
  if (args.probe) return probeModules(args.probe)
  const env = process.env
  const index = Number(env.RC_STUB_TRACER_INDEX_BASE || '0')
  const mode = env.RC_STUB_PROVIDER_MODE || 'event'
  const flagKey = env.RC_STUB_FLAG_KEY || 'rc-fastlane-flag'
  const flagDefault = ['1', 'true', 'yes', 'on'].includes((env.RC_STUB_FLAG_DEFAULT || 'false').toLowerCase())

  // The port first: the harness chose it free, and loading takes seconds on a busy machine.
  const report = new Report(index, env.RC_STUB_RUN_ID || '', '')
  const signal = new StartSignal(env)
  const server = serve(args.host, args.port, report, signal)

  // 1. heavy modules, without starting the tracer
  const loaded = monotonic()
  const tracer = require('dd-trace')
  const { OpenFeature, ProviderEvents } = require('@openfeature/server-sdk')
  const version = require('dd-trace/package.json').version
  const [preloaded, failed] = preload()
  report.version = version
  signal.ready = true
  const stop = () => { server.close(); log('stopped'); process.exit(0) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  log(`dd-trace ${version} and ${preloaded} files of its start loaded in ${(monotonic() - loaded).toFixed(2)} s (${failed} failed); serving`)

  // 2. the barrier
  await waitForStart(signal)
  const t0 = monotonic()
  report.set('tracer_start_wall_seconds', Date.now() / 1000)

  // 3. the tracer, then the provider
  tracer.init()
  const started = monotonic()
  report.set('tracer_start_seconds', started - t0)
  const provider = tracer.openfeature
  const name = provider.metadata.name
  const client = OpenFeature.getClient()
  const context = { targetingKey: `tracer-${index}` }
  let evaluated = false
  let returned = false // wait mode: setProviderAndWait has settled

  const evaluate = async () => {
    const details = await client.getBooleanDetails(flagKey, flagDefault, context)
    if (details.errorCode === undefined && details.reason !== 'ERROR') {
      if (!evaluated) {
        evaluated = true
        const now = monotonic()
        report.set('tracer_first_evaluation_seconds', now - t0)
        report.set('tracer_boot_total_seconds', now - t0)
        log(`first evaluation ${flagKey}=${details.value} (${details.reason})`)
      }
    } else {
      log(`evaluation of ${flagKey}: ${details.errorCode} ${details.errorMessage}`)
    }
  }

  OpenFeature.addHandler(ProviderEvents.Ready, (details) => {
    if (details?.providerName !== name) return // the default no-op provider's READY
    const now = monotonic()
    if (!report.gauges.has('tracer_provider_ready_seconds')) {
      report.set('tracer_provider_ready_seconds', now - t0)
      report.setOutcome('ready')
      log(`PROVIDER_READY ${(now - t0).toFixed(3)} s after the tracer's start`)
    }
    if (mode === 'event' || returned) evaluate()
  })
  OpenFeature.addHandler(ProviderEvents.Error, (details) => {
    if (details?.providerName !== name) return
    report.providerErrors += 1
    report.setOutcome('timeout') // the init timeout: the provider may still turn ready
    log(`PROVIDER_ERROR: ${details?.message}`)
  })
  if (mode === 'wait') {
    try {
      await OpenFeature.setProviderAndWait(provider)
    } catch (err) {
      log(`setProviderAndWait: ${err}`)
    }
    returned = true
    evaluate()
  } else {
    OpenFeature.setProvider(provider)
  }
  setInterval(() => {}, 1 << 30) // keep the process alive until SIGTERM
}

main().catch((err) => {
  log(`failed: ${err && err.stack}`)
  process.exit(1)
})
