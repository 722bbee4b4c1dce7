'use strict'
// dd-trace-js 5.132's exporter request(): which answer delays it accepts, and when it retries.
//
//   NODE_PATH=$(ls -d ~/.cache/rc-fastlane/tracers/dd-trace-js-*/node_modules) \
//     node benchmarks/js_request_timeout.js
//
// 1. A server answers /v0.7/config D ms after it read the request; the endpoint was reached
//    before (as the tracer's telemetry reaches the agent at init): accepted or abandoned?
// 2. A server that never answers in time and was never reached: the attempts' instants (the
//    request layer's startup-phase retries, retry.js).
const http = require('node:http')
const request = require('dd-trace/packages/dd-trace/src/exporters/common/request')

function server (delayMs, onRequest) {
  return new Promise((resolve) => {
    const srv = http.createServer((req, res) => {
      req.on('data', () => {})
      req.on('end', () => {
        onRequest?.(req)
        setTimeout(() => { if (!res.destroyed) res.end('{}') }, req.url === '/info' ? 0 : delayMs)
      })
    })
    srv.listen(0, '127.0.0.1', () => resolve(srv))
  })
}

async function accepted (delayMs) {
  const srv = await server(delayMs)
  const url = `http://127.0.0.1:${srv.address().port}`
  await new Promise((resolve) => request('{}', { url, method: 'GET', path: '/info' }, resolve))
  const t0 = Date.now()
  const outcome = await new Promise((resolve) => {
    request('{}', { url, method: 'POST', path: '/v0.7/config' }, (err) => resolve(err ? err.code : 'accepted'))
    setTimeout(() => resolve('abandoned (a retry is pending)'), delayMs + 1500)
  })
  srv.close()
  return `answer after ${delayMs} ms: ${outcome} (${Date.now() - t0} ms)`
}

async function attempts () {
  const seen = []
  const t0 = Date.now()
  const srv = await server(60000, () => seen.push(Date.now() - t0))
  const url = `http://127.0.0.1:${srv.address().port}`
  request('{}', { url, method: 'POST', path: '/v0.7/config' }, () => {})
  await new Promise((resolve) => setTimeout(resolve, 16000))
  srv.close()
  return `never answered, never reached: attempts at ${seen.map((t) => (t / 1000).toFixed(1)).join(', ')} s`
}

async function main () {
  console.log(`load average ${require('node:os').loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  for (const d of [1900, 1990, 2000, 2010, 2050, 2100]) console.log(await accepted(d))
  console.log(await attempts())
  process.exit(0)
}

main()
