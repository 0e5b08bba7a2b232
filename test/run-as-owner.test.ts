// Who `se` runs as in the container image: root becomes the owner of /workspace,
// never staying root over a non-root user's files; anyone else stays themselves.
// The switch itself is tested for real in e2e-image.test.ts (it would change this
// test process's own uid).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { planOwner } from '../adapters/node/image/run-as-owner.js'

test('root becomes the owner of a workspace a user owns', () => {
  assert.deepEqual(planOwner(0, { uid: 1234, gid: 1234 }), { kind: 'become', owner: { uid: 1234, gid: 1234 } })
  assert.deepEqual(planOwner(0, { uid: 1000, gid: 100 }), { kind: 'become', owner: { uid: 1000, gid: 100 } })
})

test('root stays root over root\'s workspace (rootless podman: root in the container is the host user)', () => {
  assert.deepEqual(planOwner(0, { uid: 0, gid: 0 }), { kind: 'stay' })
})

test('any other user stays itself: --user and --userns=keep-id chose it', () => {
  assert.deepEqual(planOwner(1000, { uid: 1234, gid: 1234 }), { kind: 'stay' })
  assert.deepEqual(planOwner(1234, { uid: 0, gid: 0 }), { kind: 'stay' })
})
