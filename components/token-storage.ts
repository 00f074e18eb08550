// The operator's bearer token lives in sessionStorage: it survives reloads, not closed tabs.
const tokenKey = "agentplatform.console.token";

export function readStoredToken(): string | undefined {
  if (typeof window === "undefined") return undefined;
  try {
    return window.sessionStorage.getItem(tokenKey) ?? undefined;
  } catch {
    return undefined;
  }
}

export function storeToken(token: string | undefined): void {
  if (typeof window === "undefined") return;
  try {
    if (token === undefined || token === "") window.sessionStorage.removeItem(tokenKey);
    else window.sessionStorage.setItem(tokenKey, token);
  } catch {
    // Storage can be disabled; the token then lasts until the page reloads.
  }
}
