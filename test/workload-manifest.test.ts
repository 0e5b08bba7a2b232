// Kubernetes manifests: what parseManifest accepts and how it names problems,
// how planWorkload rewrites a manifest into pods, and the quantity notations.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SeError } from '../core/errors.js'
import { parseManifest, planWorkload, WORKLOAD_LABEL, type Manifest } from '../core/workload/manifest.js'
import { formatBytes, parseK8sCpu, parseK8sMemory, parsePodmanSize } from '../core/workload/quantity.js'

const MiB = 2 ** 20

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
    ${WORKLOAD_LABEL}: spoofed
spec:
  restartPolicy: OnFailure
  volumes:
    - name: data
      hostPath:
        path: /srv/data
    - name: scratch
      emptyDir: {}
  containers:
    - name: app
      image: docker.io/library/nginx:1.27
      command: ["nginx"]
      args: ["-g", "daemon off;"]
      workingDir: /usr/share/nginx
      env:
        - name: MODE
          value: prod
        - name: OTHER
          value: x
      ports:
        - containerPort: 80
          hostPort: 8080
        - containerPort: 53
          protocol: UDP
      resources:
        limits:
          memory: 64Mi
          cpu: 500m
        requests:
          memory: 32Mi
          cpu: 250m
      volumeMounts:
        - name: data
          mountPath: /data
          readOnly: true
        - name: scratch
          mountPath: /scratch
    - name: sidecar
      image: localhost/sidecar
      resources:
        limits:
          memory: 128M
`

/** A Pod without host ports (so it may be replicated), with requests to lower. */
const SCALABLE = `apiVersion: v1
kind: Pod
metadata:
  name: calc
spec:
  containers:
    - name: main
      image: localhost/calc:1
      env:
        - name: MODE
          value: prod
        - name: OTHER
          value: x
      ports:
        - containerPort: 9000
      resources:
        limits:
          memory: 128Mi
          cpu: "1"
        requests:
          memory: 100Mi
          cpu: 500m
    - name: helper
      image: localhost/helper:1
`

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 2
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      containers:
        - name: srv
          image: registry.example.com:5000/team/api:2
          ports:
            - containerPort: 8000
          resources:
            limits:
              memory: 100Mi
        - name: log
          image: localhost/log
          resources:
            limits:
              memory: 20Mi
`

/** The 1-based line of the first line containing `marker`. */
function lineOf (text: string, marker: string, from = 0): number {
  const lines = text.split('\n')
  const n = lines.findIndex((l, i) => i >= from && l.includes(marker))
  assert.ok(n >= 0, `marker ${marker} is in the text`)
  return n + 1
}

/** Runs fn, which must throw VALIDATION_FAILED; returns the error. */
function invalid (fn: () => unknown): SeError {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof SeError, `expected an SeError, got ${String(err)}`)
    assert.equal(err.code, 'VALIDATION_FAILED', err.message)
    return err
  }
  assert.fail('expected VALIDATION_FAILED, nothing was thrown')
}

function detailAt (err: SeError, path: string): { path?: string, line?: number, message: string, file?: string } {
  const d = err.details.find(x => x.path === path)
  assert.ok(d !== undefined, `a problem at ${path}; got ${JSON.stringify(err.details)}`)
  return d
}

const plan = (m: Manifest, extra: Partial<Parameters<typeof planWorkload>[1]> = {}): ReturnType<typeof planWorkload> =>
  planWorkload(m, { id: `${m.name}-0001`, dir: `/data/workloads/${m.name}-0001`, ...extra })

test('a valid Pod with two containers parses and plans into one pod with SE labels, limits, ports and mounts', () => {
  const m = parseManifest(POD, 'pod.yaml')
  assert.equal(m.kind, 'Pod')
  assert.equal(m.name, 'web')
  assert.equal(m.file, 'pod.yaml')

  const p = plan(m, { labels: { 'io.se-mesh.node': 'abcd' } })
  assert.equal(p.id, 'web-0001')
  assert.equal(p.name, 'web')
  assert.equal(p.kind, 'Pod')
  assert.equal(p.source, 'pod.yaml')
  assert.equal(p.dir, '/data/workloads/web-0001')
  assert.equal(p.pods.length, 1)
  const pod = p.pods[0]!
  assert.equal(pod.name, 'web', 'a single Pod keeps its name')
  assert.equal(pod.restartPolicy, 'OnFailure')
  const meta = pod.document.metadata as { name: string, labels: Record<string, string> }
  assert.equal(pod.document.kind, 'Pod')
  assert.equal(pod.document.apiVersion, 'v1')
  assert.equal(meta.name, 'web')
  assert.deepEqual(meta.labels, { app: 'web', 'io.se-mesh.node': 'abcd', [WORKLOAD_LABEL]: 'web-0001' }, 'the workload label is SE\'s, whatever the manifest says')

  assert.deepEqual(pod.containers.map(c => c.name), ['app', 'sidecar'])
  const [app, sidecar] = pod.containers as [typeof pod.containers[0], typeof pod.containers[0]]
  assert.equal(app.image, 'docker.io/library/nginx:1.27')
  assert.deepEqual(app.command, ['nginx'])
  assert.deepEqual(app.args, ['-g', 'daemon off;'])
  assert.equal(app.workingDir, '/usr/share/nginx')
  assert.deepEqual(app.env, { MODE: 'prod', OTHER: 'x' })
  assert.equal(app.memoryBytes, 67108864)
  assert.equal(app.cpus, 0.5)
  assert.deepEqual(app.ports, [
    { containerPort: 80, hostPort: 8080, protocol: 'TCP' },
    { containerPort: 53, hostPort: null, protocol: 'UDP' }
  ])
  assert.deepEqual(app.mounts, [{ source: '/srv/data', target: '/data', readOnly: true }], 'hostPath volumes become mounts')

  assert.equal(sidecar.image, 'localhost/sidecar')
  assert.equal(sidecar.command, null, 'no command keeps the image\'s entrypoint')
  assert.deepEqual(sidecar.args, [])
  assert.equal(sidecar.workingDir, null)
  assert.deepEqual(sidecar.env, {})
  assert.deepEqual(sidecar.ports, [])
  assert.deepEqual(sidecar.mounts, [])
  assert.equal(sidecar.memoryBytes, 128_000_000)
  assert.equal(sidecar.cpus, null)

  assert.equal(p.memoryBytes, 67108864 + 128_000_000, 'the budget counts every container\'s limit')
})

test('a Pod without restartPolicy gets Always; a JSON manifest is read too', () => {
  const json = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'j' }, spec: { containers: [{ name: 'c', image: 'alpine:3' }] } })
  const p = plan(parseManifest(json, 'pod.json'))
  assert.equal(p.pods[0]!.restartPolicy, 'Always')
  assert.equal(p.pods[0]!.containers[0]!.memoryBytes, null)
  assert.equal(p.memoryBytes, 0)
})

test('a Deployment plans its replicas, always with suffixes, from the template', () => {
  const m = parseManifest(DEPLOYMENT, 'deploy.yaml')
  assert.equal(m.kind, 'Deployment')
  const p = plan(m)
  assert.deepEqual(p.pods.map(x => x.name), ['api-1', 'api-2'], 'spec.replicas is used')
  assert.equal(p.kind, 'Deployment')
  for (const pod of p.pods) {
    assert.equal(pod.document.kind, 'Pod', 'each replica is handed to the engine as a Pod')
    const meta = pod.document.metadata as { name: string, labels: Record<string, string> }
    assert.equal(meta.name, pod.name)
    assert.equal(meta.labels.app, 'api', 'the template labels are kept')
    assert.equal(meta.labels[WORKLOAD_LABEL], 'api-0001')
  }
  assert.equal(p.pods[0]!.containers[0]!.image, 'registry.example.com:5000/team/api:2')
  assert.equal(p.memoryBytes, 2 * 120 * MiB)
  assert.deepEqual(plan(m, { replicas: 1 }).pods.map(x => x.name), ['api-1'], 'a Deployment of one replica still gets a suffix')
  assert.equal(plan(m, { replicas: 3 }).memoryBytes, 3 * 120 * MiB, 'memory sums the limits over all replicas')
})

test('problems name the file, the path and the line', async t => {
  await t.test('a missing image', () => {
    const text = POD.replace('      image: localhost/sidecar\n', '')
    const err = invalid(() => parseManifest(text, 'pod.yaml'))
    const d = detailAt(err, 'spec.containers[1].image')
    assert.equal(d.file, 'pod.yaml')
    assert.equal(d.line, lineOf(text, '- name: sidecar'), 'a missing key is reported at its container')
    assert.match(d.message, /missing/)
    assert.match(err.message, /manifest pod\.yaml is invalid \(1 problem\)/)
  })

  await t.test('a bad image reference', () => {
    const text = POD.replace('image: localhost/sidecar', 'image: Bad Image!')
    const d = detailAt(invalid(() => parseManifest(text, 'pod.yaml')), 'spec.containers[1].image')
    assert.equal(d.line, lineOf(text, 'Bad Image!'))
    assert.match(d.message, /'Bad Image!' is not a valid image reference/)
  })

  await t.test('a bad memory quantity', () => {
    const text = POD.replace('memory: 64Mi', 'memory: lots')
    const d = detailAt(invalid(() => parseManifest(text, 'pod.yaml')), 'spec.containers[0].resources.limits.memory')
    assert.equal(d.line, lineOf(text, 'memory: lots'))
    assert.match(d.message, /"lots" is not a memory quantity/)
  })

  await t.test('a memory limit too small to start, and a request above its limit', () => {
    const text = POD.replace('memory: 64Mi', 'memory: 1Mi').replace('cpu: 250m', 'cpu: "2"')
    const err = invalid(() => parseManifest(text, 'pod.yaml'))
    assert.match(detailAt(err, 'spec.containers[0].resources.limits.memory').message, /below the 6 MiB/)
    assert.match(detailAt(err, 'spec.containers[0].resources.requests.memory').message, /more memory than its limit/)
    assert.match(detailAt(err, 'spec.containers[0].resources.requests.cpu').message, /more CPU than its limit/)
  })

  await t.test('a port out of range', () => {
    const text = POD.replace('containerPort: 53', 'containerPort: 70000')
    const d = detailAt(invalid(() => parseManifest(text, 'pod.yaml')), 'spec.containers[0].ports[1].containerPort')
    assert.equal(d.line, lineOf(text, 'containerPort: 70000'))
    assert.match(d.message, /1-65535, got 70000/)
  })

  await t.test('a duplicate hostPort', () => {
    const text = POD.replace('      image: localhost/sidecar\n', '      image: localhost/sidecar\n      ports:\n        - containerPort: 81\n          hostPort: 8080\n')
    const err = invalid(() => parseManifest(text, 'pod.yaml'))
    const d = detailAt(err, 'spec.containers[1].ports[0].hostPort')
    assert.equal(d.line, lineOf(text, 'hostPort: 8080', lineOf(text, '- name: sidecar')))
    assert.match(d.message, /host port 8080\/TCP is already mapped at spec\.containers\[0\]\.ports\[0\]/)
    assert.equal(err.details.length, 1, 'the first mapping is not a problem')
    // The same port number over UDP is another port.
    parseManifest(text.replace('          hostPort: 8080\n      resources:\n        limits:\n          memory: 128M', '          hostPort: 8080\n          protocol: UDP\n      resources:\n        limits:\n          memory: 128M'), 'pod.yaml')
  })

  await t.test('a volumeMount naming an undeclared volume', () => {
    const text = POD.replace('- name: scratch\n          mountPath', '- name: cache\n          mountPath')
    const d = detailAt(invalid(() => parseManifest(text, 'pod.yaml')), 'spec.containers[0].volumeMounts[1].name')
    assert.equal(d.line, lineOf(text, '- name: cache'))
    assert.match(d.message, /"cache", which is not declared under volumes \(declared: data, scratch\)/)
  })

  await t.test('an unsupported kind', () => {
    const text = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n'
    const err = invalid(() => parseManifest(text, 'svc.yaml'))
    assert.equal(err.details.length, 1)
    const d = detailAt(err, 'kind')
    assert.equal(d.line, 2)
    assert.match(d.message, /"Service" is not supported: expected Pod or Deployment/)
  })

  await t.test('a wrong apiVersion', () => {
    const pod = detailAt(invalid(() => parseManifest(POD.replace('apiVersion: v1', 'apiVersion: apps/v1'), 'pod.yaml')), 'apiVersion')
    assert.equal(pod.line, 1)
    assert.match(pod.message, /expected v1 for a Pod, got "apps\/v1"/)
    const dep = detailAt(invalid(() => parseManifest(DEPLOYMENT.replace('apiVersion: apps/v1', 'apiVersion: v1'), 'deploy.yaml')), 'apiVersion')
    assert.match(dep.message, /expected apps\/v1 for a Deployment/)
  })

  await t.test('invalid YAML', () => {
    const text = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n spec: 1\n'
    const err = invalid(() => parseManifest(text, 'broken.yaml'))
    assert.ok(err.details.length >= 1)
    const d = err.details[0]!
    assert.equal(d.file, 'broken.yaml')
    assert.equal(d.line, 5)
    assert.match(d.message, /^not valid YAML: /)
  })

  await t.test('a duplicate key is invalid YAML', () => {
    const text = 'apiVersion: v1\nkind: Pod\nkind: Pod\n'
    const d = invalid(() => parseManifest(text, 'dup.yaml')).details[0]!
    assert.equal(d.line, 3)
    assert.match(d.message, /^not valid YAML: /)
  })

  await t.test('two documents in one file, and none', () => {
    const err = invalid(() => parseManifest(`${POD}---\n${DEPLOYMENT}`, 'two.yaml'))
    assert.equal(err.details.length, 1)
    assert.match(err.details[0]!.message, /expected one Pod or Deployment, found 2 documents/)
    assert.match(invalid(() => parseManifest('# nothing here\n', 'empty.yaml')).details[0]!.message, /the file is empty/)
  })

  await t.test('a Deployment whose selector does not match the template labels', () => {
    const text = DEPLOYMENT.replace('    matchLabels:\n      app: api', '    matchLabels:\n      app: other')
    const d = detailAt(invalid(() => parseManifest(text, 'deploy.yaml')), 'spec.selector.matchLabels.app')
    assert.equal(d.line, lineOf(text, 'app: other'))
    assert.match(d.message, /selects app=other, which the pod template's labels do not have/)
  })

  await t.test('a bad name and a numeric label value', () => {
    const err = invalid(() => parseManifest(POD.replace('name: web\n', 'name: Web_Server\n').replace('app: web', 'app: 3'), 'pod.yaml'))
    assert.match(detailAt(err, 'metadata.name').message, /'Web_Server' is not a valid name/)
    assert.match(detailAt(err, 'metadata.labels.app').message, /quote it/)
  })
})

test('every problem of a manifest is reported at once', () => {
  const text = POD
    .replace('apiVersion: v1', 'apiVersion: v2')
    .replace('memory: 64Mi', 'memory: lots')
    .replace('containerPort: 53', 'containerPort: 0')
    .replace('- name: scratch\n          mountPath', '- name: cache\n          mountPath')
    .replace('      image: localhost/sidecar\n', '')
  const err = invalid(() => parseManifest(text, 'pod.yaml'))
  const paths = err.details.map(d => d.path)
  assert.deepEqual(paths.sort(), [
    'apiVersion',
    'spec.containers[0].ports[1].containerPort',
    'spec.containers[0].resources.limits.memory',
    'spec.containers[0].volumeMounts[1].name',
    'spec.containers[1].image'
  ])
  assert.ok(err.details.every(d => d.file === 'pod.yaml' && typeof d.line === 'number'), 'each problem has its line')
  assert.match(err.message, /\(5 problems\)/)
})

test('replicas: a Pod of one keeps its name, more get -1..n; the plan never changes the manifest', () => {
  const m = parseManifest(SCALABLE, 'calc.yaml')
  const before = structuredClone(m.document)
  assert.deepEqual(plan(m).pods.map(p => p.name), ['calc'])
  assert.deepEqual(plan(m, { replicas: 1 }).pods.map(p => p.name), ['calc'])
  const three = plan(m, { replicas: 3 })
  assert.deepEqual(three.pods.map(p => p.name), ['calc-1', 'calc-2', 'calc-3'])
  assert.deepEqual(three.pods.map(p => (p.document.metadata as { name: string }).name), ['calc-1', 'calc-2', 'calc-3'])
  assert.equal(three.memoryBytes, 3 * 128 * MiB, 'the plan sums limits over all replicas (a container without one counts 0)')
  plan(m, { replicas: 2, memoryBytes: 64 * MiB, cpus: 0.25, env: { MODE: 'dev' } })
  assert.deepEqual(m.document, before, 'planning does not touch the parsed manifest')
  assert.throws(() => plan(m, { replicas: 0 }), (err: SeError) => err.code === 'BAD_INPUT')
})

test('memoryBytes and cpus set every container\'s limits in its document and lower requests above them', () => {
  const m = parseManifest(SCALABLE, 'calc.yaml')
  const p = plan(m, { replicas: 2, memoryBytes: 64 * MiB, cpus: 0.25 })
  for (const pod of p.pods) {
    const containers = (pod.document.spec as { containers: Array<{ name: string, resources: { limits: Record<string, string>, requests?: Record<string, string> } }> }).containers
    assert.equal(containers.length, 2)
    for (const c of containers) {
      assert.deepEqual(c.resources.limits, { memory: String(64 * MiB), cpu: '250m' }, `${pod.name}/${c.name} limits`)
    }
    assert.deepEqual(containers[0]!.resources.requests, { memory: String(64 * MiB), cpu: '250m' }, 'requests above the new limits are lowered')
    assert.equal(containers[1]!.resources.requests, undefined, 'no requests are invented')
    for (const c of pod.containers) {
      assert.equal(c.memoryBytes, 64 * MiB)
      assert.equal(c.cpus, 0.25)
    }
  }
  assert.equal(p.memoryBytes, 2 * 2 * 64 * MiB)

  // Requests below the new limits are kept as they are.
  const roomy = plan(m, { memoryBytes: 512 * MiB, cpus: 2 })
  const main = (roomy.pods[0]!.document.spec as { containers: Array<{ resources: { limits: Record<string, string>, requests: Record<string, string> } }> }).containers[0]!
  assert.deepEqual(main.resources.requests, { memory: '100Mi', cpu: '500m' })
  assert.deepEqual(main.resources.limits, { memory: String(512 * MiB), cpu: '2000m' })

  // Only memory: the manifest's CPU limit stays.
  const memOnly = plan(m, { memoryBytes: 256 * MiB })
  const c0 = (memOnly.pods[0]!.document.spec as { containers: Array<{ resources: { limits: Record<string, string> } }> }).containers[0]!
  assert.deepEqual(c0.resources.limits, { memory: String(256 * MiB), cpu: '1' })
  assert.equal(memOnly.pods[0]!.containers[0]!.cpus, 1)
})

test('env adds and overrides entries in every container', () => {
  const p = plan(parseManifest(SCALABLE, 'calc.yaml'), { env: { MODE: 'dev', NEW: '1' } })
  const docs = (p.pods[0]!.document.spec as { containers: Array<{ env: Array<{ name: string, value: string }> }> }).containers
  assert.deepEqual(docs[0]!.env, [{ name: 'OTHER', value: 'x' }, { name: 'MODE', value: 'dev' }, { name: 'NEW', value: '1' }])
  assert.deepEqual(docs[1]!.env, [{ name: 'MODE', value: 'dev' }, { name: 'NEW', value: '1' }])
  assert.deepEqual(p.pods[0]!.containers[0]!.env, { OTHER: 'x', MODE: 'dev', NEW: '1' })
  assert.deepEqual(p.pods[0]!.containers[1]!.env, { MODE: 'dev', NEW: '1' })
  // No env option leaves the manifest's entries alone.
  assert.deepEqual(plan(parseManifest(SCALABLE, 'calc.yaml'), { env: {} }).pods[0]!.containers[0]!.env, { MODE: 'prod', OTHER: 'x' })
})

test('env keeps manifest entries whose names are Object.prototype keys', () => {
  const text = SCALABLE.replace('- name: OTHER', '- name: constructor')
  const p = plan(parseManifest(text, 'calc.yaml'), { env: { NEW: '1' } })
  assert.deepEqual(p.pods[0]!.containers[0]!.env, { MODE: 'prod', constructor: 'x', NEW: '1' })
})

test('replicas with a hostPort is refused, naming the port', () => {
  const pod = invalid(() => plan(parseManifest(POD, 'pod.yaml'), { replicas: 2 }))
  assert.equal(pod.details.length, 1)
  const d = detailAt(pod, 'spec.containers[0].ports[0].hostPort')
  assert.equal(d.file, 'pod.yaml')
  assert.match(d.message, /host port 8080 cannot be shared by 2 replicas/)
  // The manifest's own replicas count as much as the option.
  const withHostPort = DEPLOYMENT.replace('            - containerPort: 8000\n', '            - containerPort: 8000\n              hostPort: 8000\n')
  const m = parseManifest(withHostPort, 'deploy.yaml')
  detailAt(invalid(() => plan(m)), 'spec.template.spec.containers[0].ports[0].hostPort')
  assert.deepEqual(plan(m, { replicas: 1 }).pods.map(p => p.name), ['api-1'], 'one replica may map the port')
})

test('Kubernetes memory quantities', () => {
  assert.equal(parseK8sMemory('1Gi'), 2 ** 30)
  assert.equal(parseK8sMemory('1G'), 1e9)
  assert.equal(parseK8sMemory('129e6'), 129_000_000)
  assert.equal(parseK8sMemory('129M'), 129_000_000)
  assert.equal(parseK8sMemory('123Mi'), 123 * MiB)
  assert.equal(parseK8sMemory('128974848'), 128974848)
  assert.equal(parseK8sMemory(128974848), 128974848, 'a YAML number is a quantity too')
  assert.equal(parseK8sMemory('64Ki'), 65536)
  assert.equal(parseK8sMemory('1.5Gi'), 1.5 * 2 ** 30)
  assert.equal(parseK8sMemory(' 64Mi '), 64 * MiB)
  assert.equal(parseK8sMemory('abc'), null)
  assert.equal(parseK8sMemory('64MB'), null)
  assert.equal(parseK8sMemory('-1Gi'), null)
  assert.equal(parseK8sMemory('0'), null)
  assert.equal(parseK8sMemory(''), null)
  assert.equal(parseK8sMemory(undefined), null)
})

test('Kubernetes CPU quantities', () => {
  assert.equal(parseK8sCpu('500m'), 0.5)
  assert.equal(parseK8sCpu('2'), 2)
  assert.equal(parseK8sCpu(2), 2)
  assert.equal(parseK8sCpu('0.25'), 0.25)
  assert.equal(parseK8sCpu('x'), null)
  assert.equal(parseK8sCpu('0m'), null)
  assert.equal(parseK8sCpu('1.5k'), null)
  assert.equal(parseK8sCpu(null), null)
})

test('podman sizes', () => {
  assert.equal(parsePodmanSize('512m'), 512 * MiB)
  assert.equal(parsePodmanSize('1G'), 2 ** 30)
  assert.equal(parsePodmanSize('2g'), 2 * 2 ** 30)
  assert.equal(parsePodmanSize('64k'), 65536)
  assert.equal(parsePodmanSize('100b'), 100)
  assert.equal(parsePodmanSize('10'), 10)
  assert.equal(parsePodmanSize('1.5g'), 1.5 * 2 ** 30)
  assert.equal(parsePodmanSize('zz'), null)
  assert.equal(parsePodmanSize('0'), null)
  assert.equal(parsePodmanSize('512mb'), null)
  assert.equal(parsePodmanSize(''), null)
})

test('formatBytes', () => {
  assert.equal(formatBytes(null), '-')
  assert.equal(formatBytes(0), '0 B')
  assert.equal(formatBytes(1023), '1023 B')
  assert.equal(formatBytes(1024), '1 KiB')
  assert.equal(formatBytes(1536), '1.5 KiB')
  assert.equal(formatBytes(64 * MiB), '64 MiB')
  assert.equal(formatBytes(MiB - 1), '1 MiB')
  assert.equal(formatBytes(100 * MiB), '100 MiB')
  assert.equal(formatBytes(1.5 * 2 ** 30), '1.5 GiB')
  assert.equal(formatBytes(3 * 2 ** 40), '3 TiB')
  assert.equal(formatBytes(2 ** 50), '1024 TiB', 'TiB is the largest unit')
})
