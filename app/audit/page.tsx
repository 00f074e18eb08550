import type { Metadata } from "next";
import { Suspense } from "react";
import { LoadingState } from "../../components/state-views";
import { AuditView } from "./audit-view";

export const metadata: Metadata = { title: "Audit" };

export default function AuditPage() {
  return (
    <Suspense fallback={<LoadingState />}>
      <AuditView />
    </Suspense>
  );
}
