/** Test setup: every property test runs on the wasm backend (override with BACKEND=cpu). */
import { useBackend, type BackendName } from '../../dsl/engine/backend.ts';

export const backend = await useBackend((process.env.BACKEND as BackendName | undefined) ?? 'wasm');
