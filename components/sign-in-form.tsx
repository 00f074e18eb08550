"use client";
// Asks for a bearer token when the gateway has authentication on.
import { type FormEvent, useId, useState } from "react";
import { Icon } from "./icons";
import { useSession } from "./session-context";
import { readStoredToken } from "./token-storage";

export function SignInForm({ rejected }: { rejected: boolean }) {
  const { signIn, signOut } = useSession();
  const [token, setToken] = useState("");
  const id = useId();
  const hadToken = readStoredToken() !== undefined;

  function submit(event: FormEvent) {
    event.preventDefault();
    if (token.trim() !== "") signIn(token);
  }

  return (
    <div className="page narrow">
      <form className="card sign-in" onSubmit={submit} data-testid="sign-in-form">
        <h1 className="card-title">
          <Icon name="lock" /> Sign in
        </h1>
        <p className="muted">
          The gateway requires a token. Viewers can watch the cluster, operators can also run
          methods and tasks, admins can also read the audit log. The token stays in this tab only.
        </p>
        {(rejected || hadToken) && (
          <p className="inline-error" role="alert">
            The gateway rejected the token. Check it and try again.
          </p>
        )}
        <label htmlFor={`${id}-token`} className="field-label">
          Token
        </label>
        <input
          id={`${id}-token`}
          className="input"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={token}
          onChange={(e) => setToken(e.target.value)}
          data-testid="sign-in-token"
        />
        <div className="form-actions">
          <button type="submit" className="button primary" disabled={token.trim() === ""}>
            Sign in
          </button>
          {hadToken && (
            <button type="button" className="button ghost" onClick={signOut}>
              Forget stored token
            </button>
          )}
        </div>
      </form>
    </div>
  );
}
