import { expect, test } from '@playwright/test';
import { ask, widgetFrame } from './helpers';

const HOST = process.env.BOOKCHAT_HOST_URL ?? 'http://127.0.0.1:3310';
const ROS_PAGE = `${HOST}/docs/ros2/ros2-architecture`;

test('"This chapter only" keeps answers to the chapter of the page, and the conversation remembers it', async ({ page }) => {
  await page.goto(ROS_PAGE);
  await page.getByTestId('bookchat-launcher').click();
  const frame = await widgetFrame(page);
  const toggle = frame.getByTestId('chapter-only');
  await expect(toggle).not.toBeChecked();
  await toggle.check();
  await ask(frame, 'What is a digital twin?');
  await expect(frame.getByTestId('msg-scope')).toHaveCount(1);
  const hrefs = await frame.getByTestId('msg-assistant').last().getByTestId('citation').evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
  for (const h of hrefs) expect(h).toContain('/docs/ros2/');

  // Back later (the panel reopens by itself): the conversation comes back with its scope on.
  await page.reload();
  const again = await widgetFrame(page);
  await expect(again.getByTestId('msg-scope')).toHaveCount(1);
  await expect(again.getByTestId('chapter-only')).toBeChecked();

  // Off again: the whole book answers, from the simulation chapter.
  await again.getByTestId('chapter-only').uncheck();
  await ask(again, 'What is a digital twin?');
  const whole = again.getByTestId('msg-assistant').last().getByTestId('citation');
  await expect(whole.first()).toHaveAttribute('href', /\/docs\/simulation\//);
  await expect(again.getByTestId('msg-scope')).toHaveCount(1);
});
