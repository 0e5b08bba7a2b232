// What a session keeps and how it reads a line: the transcript's bounds, whole
// lines out of chunked output, and shell-style quoting with no shell behind it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SESSION_PARTIAL_LINE_CHARS, SESSION_TRANSCRIPT_BYTES, SESSION_TRANSCRIPT_ENTRIES } from '../core/constants.js'
import { LineBuffer } from '../core/session/line-buffer.js'
import { Session, type SessionRecord } from '../core/session/session.js'
import { splitLine } from '../core/session/split-line.js'

function session (): Session {
  const record: SessionRecord = {
    id: 'ss-00000000-000001', name: null, owner: 'alice', nodeId: '0'.repeat(64), nodeName: 'n', cwd: '/', createdAt: 0, lastActiveAt: 0,
    state: 'open', closedReason: null, running: null, nextSeq: 1, transcript: [], history: []
  }
  return new Session(record)
}

const bytes = (s: Session): number => s.record.transcript.reduce((n, o) => n + Buffer.byteLength(o.text), 0)

test('the transcript keeps the newest entries, and an attach from the start learns how many were dropped', () => {
  const s = session()
  for (let i = 1; i <= SESSION_TRANSCRIPT_ENTRIES + 500; i++) s.append('stdout', `line ${i}`, i)
  assert.equal(s.record.transcript.length, SESSION_TRANSCRIPT_ENTRIES)
  const all = s.backlog(0)
  assert.equal(all[0]?.stream, 'info')
  assert.match(all[0]?.text ?? '', /^\(500 earlier output entries were dropped: a session keeps its newest 2000 or 256 KiB\)$/)
  assert.equal(all[1]?.text, 'line 501')
  assert.equal(all.at(-1)?.text, `line ${SESSION_TRANSCRIPT_ENTRIES + 500}`)
  // A client that saw up to 2400 asks for the rest: no note, only what is new to it.
  assert.deepEqual(s.backlog(2401).map(o => o.text), Array.from({ length: 100 }, (_, i) => `line ${2401 + i}`))
})

test('the transcript stays within its bytes, counted as UTF-8, and one huge output keeps its end', () => {
  const s = session()
  const euro = '€'.repeat(1024) // 3 KiB each
  for (let i = 0; i < 200; i++) s.append('stdout', euro, i)
  assert.ok(bytes(s) <= SESSION_TRANSCRIPT_BYTES, `${bytes(s)} bytes kept`)
  assert.ok(bytes(s) > SESSION_TRANSCRIPT_BYTES - 3 * 1024, 'and not much less')

  const big = session()
  const huge = 'x'.repeat(SESSION_TRANSCRIPT_BYTES * 4 - 3) + 'END'
  big.append('stdout', 'before', 0)
  const entry = big.append('stdout', huge, 1)
  assert.ok(Buffer.byteLength(entry.text) <= SESSION_TRANSCRIPT_BYTES)
  assert.match(entry.text, /^\(\d+ earlier bytes of this output were cut\)\nx+END$/)
  assert.ok(bytes(big) <= SESSION_TRANSCRIPT_BYTES)
  big.append('stdout', 'y'.repeat(1024), 2)
  assert.deepEqual(big.record.transcript.map(o => o.seq), [3], 'older entries make room for the newest')
})

test('chunked output becomes whole lines; a line that never ends is still shown', () => {
  const b = new LineBuffer()
  assert.equal(b.push('hel'), null)
  assert.equal(b.push('lo\nwor'), 'hello')
  assert.equal(b.push('ld\nand\nmore'), 'world\nand')
  assert.equal(b.flush(), 'more')
  assert.equal(b.flush(), null)
  const bar = new LineBuffer()
  assert.equal(bar.push('#'.repeat(SESSION_PARTIAL_LINE_CHARS)), null)
  assert.equal(bar.push('\r#')?.length, SESSION_PARTIAL_LINE_CHARS + 2)
})

test('a line splits as a shell would quote it, and nothing a shell would do happens', () => {
  assert.deepEqual(splitLine(`git commit -m "fix: the 'thing'" --author='A B'`), ['git', 'commit', '-m', "fix: the 'thing'", '--author=A B'])
  assert.deepEqual(splitLine('echo $HOME ${USER} "$X" \'$Y\''), ['echo', '$HOME', '$USER', '$X', '$Y'])
  assert.deepEqual(splitLine('ls *.ts src/?.js'), ['ls', '*.ts', 'src/?.js'])
  assert.deepEqual(splitLine('make test # again'), ['make', 'test'])
  assert.deepEqual(splitLine('   '), [])
  for (const op of ['a | b', 'a > f', 'a && b', 'a; b', 'a &']) {
    assert.throws(() => splitLine(op), (err: any) => err.code === 'BAD_INPUT' && /needs a shell/.test(err.message) && /sh -c/.test(err.hint), op)
  }
})
