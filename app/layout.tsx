// Root layout: reads the gateway URL per request and hands it to the client providers.
import type { Metadata, Viewport } from "next";
import { connection } from "next/server";
import type { ReactNode } from "react";
import { AppShell } from "../components/app-shell";
import { readConsoleConfig } from "../components/console-config";
import { ConsoleProviders } from "../components/console-providers";
import { themeScript } from "../components/theme-script";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Agent Platform console", template: "%s · Agent Platform" },
  description: "Operator console for the agent platform's services, routers and tasks",
};

export const viewport: Viewport = {
  width: "device-width",
  initialScale: 1,
  themeColor: [
    { media: "(prefers-color-scheme: light)", color: "#f6f7f9" },
    { media: "(prefers-color-scheme: dark)", color: "#0d1017" },
  ],
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  // `npm start` serves a production build: the URL must come from this request's environment.
  await connection();
  const settings = readConsoleConfig(process.env);
  return (
    <html lang="en" suppressHydrationWarning>
      <head>
        {/* biome-ignore lint/security/noDangerouslySetInnerHtml: a constant script that sets the theme before paint. */}
        <script dangerouslySetInnerHTML={{ __html: themeScript }} />
      </head>
      <body>
        <ConsoleProviders settings={settings}>
          <AppShell>{children}</AppShell>
        </ConsoleProviders>
      </body>
    </html>
  );
}
