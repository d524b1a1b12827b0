// Compiled (not run) by package.test.mjs: the types as a CommonJS user sees them.
import asrMock = require('asr-mock');

async function main(): Promise<void> {
  const mock = await asrMock.startAsrMock({ cozeModel: 'small', stderr: 'inherit' });
  const health = await mock.health();
  const text: string = health.status;
  const attempts = await mock.callbacks('18446744073709551615');
  const acknowledged: boolean = attempts.every((a) => a.acknowledged);
  // @ts-expect-error: the Coze model is large or small
  await asrMock.startAsrMock({ cozeModel: 'medium' });
  await mock.close();
  console.log(text, acknowledged, asrMock.binaryPath());
}
void main();
