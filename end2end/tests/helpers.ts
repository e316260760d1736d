import { expect, FrameLocator, Page } from '@playwright/test';

/** Open the widget from the demo host page and wait until it is hydrated and has a session. */
export async function openWidget(page: Page, path = '/'): Promise<FrameLocator> {
  await page.goto(path);
  const launcher = page.getByTestId('bookchat-launcher');
  await expect(launcher).toBeVisible();
  await launcher.click();
  return widgetFrame(page);
}

export async function widgetFrame(page: Page): Promise<FrameLocator> {
  const frame = page.frameLocator('[data-testid=bookchat-iframe]');
  // Wait for hydration + session, so a test can never pass on the server-rendered markup.
  await expect(frame.locator('body[data-ready="true"]')).toBeAttached();
  return frame;
}

/** Ask a question with the keyboard (Enter sends) and wait for its answer. */
export async function ask(frame: FrameLocator, question: string) {
  const before = await frame.getByTestId('msg-assistant').count();
  const composer = frame.getByTestId('composer');
  await composer.fill(question);
  await composer.press('Enter');
  await expect(frame.getByTestId('msg-assistant')).toHaveCount(before + 1);
  await expect(frame.getByTestId('answering')).toHaveCount(0);
}
