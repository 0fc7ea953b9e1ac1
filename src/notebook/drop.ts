import { MimeData } from '@lumino/coreutils';
import { Drag } from '@lumino/dragdrop';

/** The notebook's drop format: a list of nbformat cells. */
export const JUPYTER_CELL_MIME = 'application/vnd.jupyter.cells';

/** Pixels the mouse must travel before a press becomes a drag. */
export const DRAG_THRESHOLD = 5;

/**
 * The code a dropped DID becomes: its local paths bound to a variable. A DID of another
 * instance than the server's default names it, so the kernel asks the right Rucio.
 */
export function pathsCode(
  did: string,
  variable: string,
  instance: string | null = null
): string {
  const where = instance ? ` --instance ${instance}` : '';
  return `${variable} = %datalake paths ${did}${where}`;
}

/**
 * Drag data for a DID: one code cell for notebooks, the DID as text for editors.
 */
export function didMimeData(
  did: string,
  variable: string,
  instance: string | null = null
): MimeData {
  const mime = new MimeData();
  mime.setData(JUPYTER_CELL_MIME, [
    {
      cell_type: 'code',
      source: pathsCode(did, variable, instance),
      metadata: { datalake: instance ? { did, instance } : { did } },
      outputs: [],
      execution_count: null
    }
  ]);
  mime.setData('text/plain', did);
  return mime;
}

/**
 * Start a Lumino drag of a DID from the panel at the given mouse position; `instance` is
 * null for the server's default instance.
 */
export function startDidDrag(
  did: string,
  variable: string,
  instance: string | null,
  clientX: number,
  clientY: number,
  source: unknown = null
): Drag {
  const dragImage = document.createElement('div');
  dragImage.className = 'jp-datalake-dragImage';
  dragImage.textContent = did;
  const drag = new Drag({
    mimeData: didMimeData(did, variable, instance),
    dragImage,
    proposedAction: 'copy',
    supportedActions: 'copy',
    source
  });
  void drag.start(clientX, clientY);
  return drag;
}
