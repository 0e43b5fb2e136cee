<?php
// What a request looks like from PHP behind pipyx, and a form to upload a file.
header('Content-Type: text/html; charset=utf-8');
$h = fn($s) => htmlspecialchars((string)$s, ENT_QUOTES);
?>
<!doctype html>
<title>PHP behind pipyx</title>
<h1>Hello from PHP <?= $h(PHP_VERSION) ?></h1>
<p>Served by <?= $h($_SERVER['APP_SERVER'] ?? 'an unknown server') ?> for <?= $h($_SERVER['REMOTE_ADDR']) ?>:
<?= $h($_SERVER['REQUEST_METHOD']) ?> <?= $h($_SERVER['REQUEST_URI']) ?></p>
<?php if (!empty($_FILES['upload']) && $_FILES['upload']['error'] === UPLOAD_ERR_OK): ?>
<p id="uploaded">Received <?= $h($_FILES['upload']['name']) ?>: <?= (int)$_FILES['upload']['size'] ?> bytes,
md5 <?= md5_file($_FILES['upload']['tmp_name']) ?>, from <?= $h($_POST['who'] ?? 'someone') ?>.</p>
<?php endif ?>
<form method="post" enctype="multipart/form-data">
  <input name="who" placeholder="your name"> <input type="file" name="upload"> <button>Upload</button>
</form>
