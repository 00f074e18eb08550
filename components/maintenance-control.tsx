"use client";
// Puts a registered instance into maintenance (or a router into drain) and back, after a
// confirmation; operators and admins only, and the gateway audits it. While on, the registry
// holds a critical `_service_maintenance:<id>` check, so routers and the front door stop
// sending it new calls; calls in progress finish.
import { useMutation } from "@connectrpc/connect-query";
import { useId, useRef, useState } from "react";
import { ConsoleService, type ServiceInstance } from "../gen/agentplatform/v1/console_pb";
import { Icon } from "./icons";
import { roleLabel, useSession } from "./session-context";
import { ErrorState } from "./state-views";

export const maintenanceCheckPrefix = "_service_maintenance:";

/** The reason an instance is in maintenance, or undefined when it is not. */
export function maintenanceReason(instance: ServiceInstance): string | undefined {
  const check = instance.checks.find((c) => c.checkId.startsWith(maintenanceCheckPrefix));
  return check === undefined ? undefined : check.output || "no reason given";
}

export function MaintenanceControl({
  service,
  instance,
  verb = "maintenance",
}: {
  service: string;
  instance: ServiceInstance;
  /** "drain" words the dialog for a router. */
  verb?: "maintenance" | "drain";
}) {
  const { canInvoke, session } = useSession();
  const dialog = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  const id = useId();
  const [reason, setReason] = useState("");
  const current = maintenanceReason(instance);
  const enabling = current === undefined;
  const mutation = useMutation(ConsoleService.method.setMaintenance, {
    onSuccess: () => {
      dialog.current?.close();
      setReason("");
    },
  });
  const name = instance.instanceId;
  const action = enabling
    ? verb === "drain"
      ? "Drain"
      : "Start maintenance"
    : verb === "drain"
      ? "End drain"
      : "End maintenance";

  if (!canInvoke) {
    return (
      <span className="faint" data-testid={`${verb}-forbidden-${name}`}>
        {roleLabel(session?.role ?? 0)}s cannot change it
      </span>
    );
  }

  return (
    <>
      <button
        ref={opener}
        type="button"
        className={`button small ${enabling ? "" : "primary"}`}
        onClick={() => {
          mutation.reset();
          dialog.current?.showModal();
        }}
        data-testid={`${verb}-open-${name}`}
      >
        <Icon name={enabling ? "stop" : "run"} size={14} /> {action}
      </button>
      <dialog
        ref={dialog}
        className="dialog"
        aria-labelledby={`${id}-title`}
        onClose={() => opener.current?.focus()}
        data-testid="maintenance-dialog"
      >
        <form
          method="dialog"
          className="section"
          onSubmit={(event) => {
            event.preventDefault();
            if (enabling && reason.trim() === "") return;
            mutation.mutate({ service, instanceId: name, enable: enabling, reason: reason.trim() });
          }}
        >
          <h2 id={`${id}-title`} className="card-title" style={{ margin: 0 }}>
            {action}: <span className="mono">{name}</span>?
          </h2>
          <p style={{ margin: 0 }}>
            {enabling
              ? `The registry will mark ${name} critical with your reason, so routers${verb === "drain" ? " and the front door" : ""} stop sending it new calls; calls in progress finish. It stays registered and comes back when you end ${verb === "drain" ? "the drain" : "maintenance"}.`
              : `${name} goes back into rotation as soon as its own checks pass. It was taken out: ${current}`}
          </p>
          {enabling && (
            <div className="field">
              <label htmlFor={`${id}-reason`} className="field-label">
                Reason (shown in the registry and the audit log)
              </label>
              <input
                id={`${id}-reason`}
                className="input"
                value={reason}
                maxLength={512}
                required
                onChange={(e) => setReason(e.target.value)}
                data-testid="maintenance-reason"
              />
            </div>
          )}
          {mutation.error !== null && <ErrorState error={mutation.error} context={action} />}
          <div className="form-actions">
            <button
              type="submit"
              className={`button ${enabling ? "danger" : "primary"}`}
              disabled={mutation.isPending || (enabling && reason.trim() === "")}
              data-testid="maintenance-confirm"
            >
              {mutation.isPending ? "Working…" : action}
            </button>
            <button type="button" className="button ghost" onClick={() => dialog.current?.close()}>
              Keep as is
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}
