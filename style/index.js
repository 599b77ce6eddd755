import './base.css';
import './workspace-node.css';
