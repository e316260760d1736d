import { expect, test } from '@playwright/test';
import { openWidget, widgetFrame } from './helpers';

// Runs against the server configured with the fake language model: "[slow]" streams for ~15 s.

test('tokens appear as they arrive, and Stop keeps the partial answer', async ({ page }) => {
  const frame = await openWidget(page);
  await frame.getByTestId('composer').fill('What is the zero moment point? [slow]');
  await frame.getByTestId('composer').press('Enter');
  const answer = frame.getByTestId('msg-assistant').last();
  await expect(answer).toHaveAttribute('data-status', 'streaming');
  const body = answer.getByTestId('msg-body');
  await expect(body).toContainText('zero-moment');
  const early = (await body.textContent())!.length;
  await expect.poll(async () => (await body.textContent())!.length).toBeGreaterThan(early + 10);

  await answer.getByTestId('stop').click();
  await expect(answer).toHaveAttribute('data-status', 'stopped');
  await expect(answer.getByTestId('msg-stopped')).toBeVisible();
  const kept = (await answer.getByTestId('msg-body').textContent())!;
  expect(kept.length).toBeGreaterThan(10);
  await page.waitForTimeout(1000);
  expect(await answer.getByTestId('msg-body').textContent()).toBe(kept);
  // The composer is free again.
  await expect(frame.getByTestId('composer')).toBeEditable();
});

test('reloading while an answer is written shows it continuing, then complete', async ({ page }) => {
  const frame = await openWidget(page);
  await frame.getByTestId('composer').fill('Tell me about the zero moment point [slow]');
  await frame.getByTestId('composer').press('Enter');
  await expect(frame.getByTestId('msg-assistant').last().getByTestId('msg-body')).toContainText('keeps');

  await page.reload();
  const again = await widgetFrame(page);
  const answer = again.getByTestId('msg-assistant').last();
  await expect(answer).toHaveAttribute('data-status', 'streaming');
  await expect(answer).toHaveAttribute('data-status', 'complete', { timeout: 30_000 });
  const text = (await answer.getByTestId('msg-body').textContent())!;
  expect(text.match(/zero-moment/g)?.length).toBe(8);
  await expect(answer.getByTestId('citation').first()).toBeVisible();
});

test('regenerate writes the answer again; feedback is kept across reloads', async ({ page }) => {
  const frame = await openWidget(page);
  await frame.getByTestId('composer').fill('What is the zero moment point?');
  await frame.getByTestId('composer').press('Enter');
  const answer = frame.getByTestId('msg-assistant').last();
  await expect(answer).toHaveAttribute('data-status', 'complete');

  await answer.getByTestId('regenerate').click();
  await expect(frame.getByTestId('msg-assistant').last()).toHaveAttribute('data-status', 'complete');
  await expect(frame.getByTestId('msg-assistant')).toHaveCount(1);

  await frame.getByTestId('msg-assistant').last().getByTestId('feedback-up').click();
  await expect(frame.getByTestId('feedback-up')).toHaveAttribute('aria-pressed', 'true');
  await frame.getByTestId('feedback-down').click();
  await expect(frame.getByTestId('feedback-down')).toHaveAttribute('aria-pressed', 'true');
  await frame.getByTestId('feedback-comment').fill('Needs an example');
  await frame.getByTestId('feedback-comment-send').click();
  await expect(frame.getByTestId('feedback-comment')).toHaveCount(0);

  await page.reload();
  const again = await widgetFrame(page);
  await expect(again.getByTestId('feedback-down')).toHaveAttribute('aria-pressed', 'true');
  await expect(again.getByTestId('feedback-up')).toHaveAttribute('aria-pressed', 'false');
});
