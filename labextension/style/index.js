import './base.css';
import './panel.css';
import './compare.css';
import './samples.css';
import './logprobs.css';
