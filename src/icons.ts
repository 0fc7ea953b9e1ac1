import { LabIcon } from '@jupyterlab/ui-components';

/**
 * The panel icon: a stack of disks (a data lake), drawn with theme colour classes so it
 * follows light and dark themes.
 */
const DATALAKE_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 2C7.6 2 4 3.3 4 5v3c0 1.7 3.6 3 8 3s8-1.3 8-3V5c0-1.7-3.6-3-8-3zm0 2c3.6 0 6 1 6 1s-2.4 1-6 1-6-1-6-1 2.4-1 6-1z"/>
    <path d="M4 10.5V13c0 1.7 3.6 3 8 3s8-1.3 8-3v-2.5c-1.6 1.1-4.6 1.7-8 1.7s-6.4-.6-8-1.7z"/>
    <path d="M4 15.5V19c0 1.7 3.6 3 8 3s8-1.3 8-3v-3.5c-1.6 1.1-4.6 1.7-8 1.7s-6.4-.6-8-1.7z"/>
  </g>
</svg>`;

export const datalakeIcon = new LabIcon({
  name: 'jupyterlab-datalake:datalake',
  svgstr: DATALAKE_SVG
});
