// The trash-can button that removes one row of an editable list (form fields, metadata, parameters).
import { Icon } from "./icons";

export function RemoveButton({ label, onClick }: { label: string; onClick: () => void }) {
  return (
    <button type="button" className="button ghost icon-only" aria-label={label} onClick={onClick}>
      <Icon name="trash" size={16} />
    </button>
  );
}
