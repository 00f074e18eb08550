"use client";
// The frame around every page: navigation, session, theme, and the gates for auth and reachability.
import { Code, ConnectError } from "@connectrpc/connect";
import Link from "next/link";
import { usePathname } from "next/navigation";
import type { ReactNode } from "react";
import { useConsoleSettings } from "./console-settings";
import { Icon, type IconName } from "./icons";
import { useServicesFeedState } from "./services-feed";
import { roleLabel, useSession } from "./session-context";
import { SignInForm } from "./sign-in-form";
import { ErrorState, LoadingState } from "./state-views";
import { ThemeToggle } from "./theme";

const navItems: { href: string; label: string; icon: IconName }[] = [
  { href: "/", label: "Overview", icon: "overview" },
  { href: "/services", label: "Services", icon: "services" },
  { href: "/routers", label: "Routers", icon: "routers" },
  { href: "/topology", label: "Topology", icon: "routers" },
  { href: "/run", label: "Run", icon: "run" },
  { href: "/tasks", label: "Tasks", icon: "tasks" },
  { href: "/audit", label: "Audit", icon: "audit" },
];

function isActive(pathname: string, href: string) {
  return href === "/" ? pathname === "/" : pathname === href || pathname.startsWith(`${href}/`);
}

export function AppShell({ children }: { children: ReactNode }) {
  const pathname = usePathname();
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link href="/" className="brand" aria-label="Agent Platform console, overview">
          <span className="brand-mark">
            <Icon name="logo" size={20} />
          </span>
          <span className="brand-text">
            Agent Platform <span className="brand-sub">console</span>
          </span>
        </Link>
        <div className="topbar-right">
          <LiveIndicator />
          <SessionChip />
          <ThemeToggle />
        </div>
      </header>
      <nav className="sidenav" aria-label="Main">
        <ul>
          {navItems.map((item) => {
            const active = isActive(pathname, item.href);
            return (
              <li key={item.href}>
                <Link
                  href={item.href}
                  className="nav-link"
                  aria-current={active ? "page" : undefined}
                  data-testid={`nav-${item.label.toLowerCase()}`}
                >
                  <Icon name={item.icon} />
                  <span>{item.label}</span>
                </Link>
              </li>
            );
          })}
        </ul>
      </nav>
      <main id="main" className="main" tabIndex={-1}>
        <AuthBanner />
        <Gate>{children}</Gate>
      </main>
    </div>
  );
}

function LiveIndicator() {
  const { canRead } = useSession();
  const feed = useServicesFeedState();
  if (!canRead) return null;
  const label =
    feed.kind === "live" ? "Live" : feed.kind === "connecting" ? "Connecting" : "Reconnecting";
  return (
    <span className={`live-dot ${feed.kind}`} data-testid="live-indicator" title="Registry feed">
      <span className="dot" aria-hidden="true" />
      {label}
    </span>
  );
}

function SessionChip() {
  const { session, signedIn, signOut } = useSession();
  if (session === undefined || !session.authEnabled) return null;
  if (!signedIn) return null;
  return (
    <span className="session-chip" data-testid="session-chip">
      <span className="session-subject">{session.subject || "token"}</span>
      <span className={`role role-${roleLabel(session.role)}`} data-testid="session-role">
        {roleLabel(session.role)}
      </span>
      <button type="button" className="button ghost small" onClick={signOut}>
        Sign out
      </button>
    </span>
  );
}

function AuthBanner() {
  const { session } = useSession();
  if (session === undefined || session.authEnabled) return null;
  return (
    <div className="banner warn" role="note" data-testid="auth-off-banner">
      <Icon name="lock" size={16} />
      <span>
        <strong>Authentication is off: the gateway only listens on loopback.</strong> Every caller
        acts as admin. Configure tokens on the gateway before exposing it.
      </span>
    </div>
  );
}

function Gate({ children }: { children: ReactNode }) {
  const { session, sessionError, sessionLoading, refetchSession, canRead } = useSession();
  const { gatewayUrl } = useConsoleSettings();
  if (sessionLoading) return <LoadingState label="Connecting to the gateway" />;
  if (session === undefined) {
    const error = ConnectError.from(sessionError);
    if (error.code === Code.Unauthenticated) return <SignInForm rejected />;
    return (
      <div className="page">
        <ErrorState
          error={sessionError}
          onRetry={refetchSession}
          context={`Gateway ${gatewayUrl}`}
        />
      </div>
    );
  }
  if (!canRead) return <SignInForm rejected={false} />;
  return <>{children}</>;
}
