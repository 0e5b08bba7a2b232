// Times every call to an API object, for front ends whose transport library
// dispatches the calls itself (avsc's IPC server) and so cannot report them.
import type { RpcObserver } from './node-metrics.js'

export function timedApi<T extends object> (api: T, observe: RpcObserver): T {
  return new Proxy(api, {
    get (target, key, receiver) {
      const value = Reflect.get(target, key, receiver)
      if (typeof value !== 'function' || typeof key !== 'string') return value
      return async (...args: unknown[]) => {
        const began = Date.now()
        try {
          const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)
          observe(key, (Date.now() - began) / 1000, 'ok')
          return result
        } catch (err) {
          observe(key, (Date.now() - began) / 1000, 'error')
          throw err
        }
      }
    }
  })
}
