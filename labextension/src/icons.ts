import { LabIcon } from '@jupyterlab/ui-components';

import containersSvg from '../style/icons/containers.svg';

export const containersIcon = new LabIcon({
  name: 'jupyter-containers:containers',
  svgstr: containersSvg
});
