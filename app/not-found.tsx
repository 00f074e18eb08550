import Link from "next/link";

export default function NotFound() {
  return (
    <div className="page narrow">
      <div className="state">
        <p className="state-title">Page not found</p>
        <p className="state-detail">
          There is nothing at this address. <Link href="/">Go to the overview</Link>.
        </p>
      </div>
    </div>
  );
}
