// Compiled (not run) by package.test.mjs: the types as an ES-module user sees them.
import { startAsrMock, AsrMockError, type AsrMock, type TaskLine } from 'asr-mock';

const mock: AsrMock = await startAsrMock({ seed: 7, clock: 'manual', tokens: [{ token: 'pat_ci' }], icuSubmitRate: 0 });
const base: string = mock.baseURL + mock.baseWsURL;
const tasks: TaskLine[] = await mock.tasks({ status: 'waiting' });
const status: 'waiting' | 'doing' | 'success' | 'failed' = (await mock.task(tasks[0].task_id)).status;
await mock.transition(12n, 'failed', 10001, 'forced');
const sha: string = await mock.addFixture('text', { audioPath: 'a.wav' });
const found: number = (await mock.find({ method: 'POST', header: { authorization: 'Bearer …pat1' }, since: new Date(), limit: 5 })).length;
const counted: number = await mock.count({ provider: 'icu', code: 0, parameter: { TaskId: '1' } });
// @ts-expect-error: a provider the simulator does not have
await mock.count({ provider: 'aws' });
const err: unknown = new Error();
if (err instanceof AsrMockError) console.log(err.status, err.message);
// @ts-expect-error: a clock mode the simulator does not have
await startAsrMock({ clock: 'fast' });
// @ts-expect-error: advance takes seconds as a number
await mock.advance('10');
// @ts-expect-error: addFixture needs audioPath or sha256
await mock.addFixture('text', {});
await mock.close();
console.log(base, status, sha, found, counted);
