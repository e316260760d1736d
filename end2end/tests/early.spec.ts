import { expect, Page, test } from '@playwright/test';
import { widgetFrame } from './helpers';

/** Hold the widget's WebAssembly back until `release` is called: the panel stays server-rendered. */
async function holdWasm(page: Page): Promise<() => void> {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await page.route(/\/pkg\/[^/]*\.wasm/, async (route) => {
    await held;
    await route.continue();
  });
  return release;
}

test('a question sent before the widget has started is queued, sent once it starts, and stored exactly once', async ({ page }) => {
  const release = await holdWasm(page);
  const sends: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().includes('chat/send')) sends.push(r.postData() ?? '');
  });
  await page.goto('/');
  await page.getByTestId('bookchat-launcher').click();
  const frame = page.frameLocator('[data-testid=bookchat-iframe]');
  const composer = frame.getByTestId('composer');
  await expect(composer).toBeVisible();
  await expect(frame.locator('body[data-hydrated]')).toHaveCount(0);

  // Usable as served: typing works and enables the send button, Enter queues the question.
  await composer.fill('What is the zero moment point?');
  await expect(frame.getByTestId('send')).toBeEnabled();
  await composer.press('Enter');
  await expect(frame.locator('form.bc-composer[data-queued]')).toHaveCount(1);
  await expect(composer).toHaveValue('What is the zero moment point?');
  expect(sends).toHaveLength(0);

  release();
  await expect(frame.locator('body[data-ready="true"]')).toBeAttached();
  await expect(frame.getByTestId('msg-user').getByTestId('msg-body')).toHaveText('What is the zero moment point?');
  await expect(frame.getByTestId('msg-assistant')).toHaveCount(1);
  await expect(frame.getByTestId('answering')).toHaveCount(0);
  await expect(composer).toHaveValue('');
  await expect(frame.locator('form.bc-composer[data-queued]')).toHaveCount(0);
  expect(sends).toHaveLength(1);

  // Stored once: after a reload the conversation holds the one question and its answer.
  await page.reload();
  const again = await widgetFrame(page);
  await expect(again.getByTestId('msg-assistant')).toHaveCount(1);
  await expect(again.getByTestId('msg-user')).toHaveCount(1);
  await expect(again.getByTestId('conversation-title')).toHaveText('What is the zero moment point?');
});

test('text typed before the widget has started stays in the composer', async ({ page }) => {
  const release = await holdWasm(page);
  await page.goto('/');
  await page.getByTestId('bookchat-launcher').click();
  const frame = page.frameLocator('[data-testid=bookchat-iframe]');
  const composer = frame.getByTestId('composer');
  await expect(composer).toBeVisible();
  await composer.fill('How do robots balance');
  release();
  await expect(frame.locator('body[data-ready="true"]')).toBeAttached();
  await expect(composer).toHaveValue('How do robots balance');
  await expect(frame.getByTestId('msg-user')).toHaveCount(0);
  await composer.press('Enter');
  await expect(frame.getByTestId('msg-user').getByTestId('msg-body')).toHaveText('How do robots balance');
});
