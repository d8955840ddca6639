<?php
/**
 * Plugin Name:       Markezy
 * Plugin URI:        https://markezy.example/
 * Description:       Chat de cualificación de leads de Markezy: el asistente conversa con tus visitantes y tu agencia recibe leads cualificados. / Markezy lead qualification chat.
 * Version:           1.0.0
 * Requires at least: 6.0
 * Requires PHP:      7.4
 * Author:            Markezy
 * License:           GPL-2.0-or-later
 * Text Domain:       markezy
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

const MARKEZY_OPTION = 'markezy_settings';

/** Defaults; the zip downloaded from Markezy comes pre-filled with the key and server. */
function markezy_defaults() {
	return array(
		'key'      => '{{MARKEZY_KEY}}',
		'server'   => '{{MARKEZY_SERVER}}',
		'position' => 'right',
		'excluded' => '',
	);
}

function markezy_settings() {
	$saved    = get_option( MARKEZY_OPTION, array() );
	$settings = wp_parse_args( is_array( $saved ) ? $saved : array(), markezy_defaults() );
	foreach ( array( 'key', 'server' ) as $field ) {
		// An unfilled placeholder is no setting at all.
		if ( false !== strpos( $settings[ $field ], '{{' ) ) {
			$settings[ $field ] = '';
		}
	}
	return $settings;
}

/* ----- Settings page (Settings API) ------------------------------------------------ */

add_action( 'admin_menu', function () {
	add_options_page( 'Markezy', 'Markezy', 'manage_options', 'markezy', 'markezy_render_settings_page' );
} );

add_action( 'admin_init', function () {
	register_setting( 'markezy', MARKEZY_OPTION, array(
		'type'              => 'array',
		'sanitize_callback' => 'markezy_sanitize',
		'default'           => markezy_defaults(),
	) );
	add_settings_section( 'markezy_main', __( 'Widget', 'markezy' ), '__return_false', 'markezy' );
	$fields = array(
		'key'      => __( 'Clave del widget (pk_…)', 'markezy' ),
		'server'   => __( 'URL del servidor de Markezy', 'markezy' ),
		'position' => __( 'Posición', 'markezy' ),
		'excluded' => __( 'Páginas excluidas (IDs o slugs, separados por comas)', 'markezy' ),
	);
	foreach ( $fields as $field => $label ) {
		add_settings_field( 'markezy_' . $field, $label, 'markezy_render_field', 'markezy', 'markezy_main',
			array( 'field' => $field, 'label_for' => 'markezy_' . $field ) );
	}
} );

function markezy_sanitize( $input ) {
	$input  = is_array( $input ) ? $input : array();
	$output = markezy_defaults();
	$key    = isset( $input['key'] ) ? sanitize_text_field( $input['key'] ) : '';
	if ( '' !== $key && ! preg_match( '/^pk_[A-Za-z0-9_-]{10,60}$/', $key ) ) {
		add_settings_error( MARKEZY_OPTION, 'markezy_key', __( 'La clave debe empezar por pk_.', 'markezy' ) );
		$key = '';
	}
	$output['key']      = $key;
	$server             = isset( $input['server'] ) ? esc_url_raw( trim( $input['server'] ), array( 'http', 'https' ) ) : '';
	$output['server']   = untrailingslashit( $server );
	$output['position'] = ( isset( $input['position'] ) && 'left' === $input['position'] ) ? 'left' : 'right';
	$excluded           = isset( $input['excluded'] ) ? sanitize_text_field( $input['excluded'] ) : '';
	$output['excluded'] = implode( ',', array_filter( array_map( 'sanitize_title', explode( ',', $excluded ) ) ) );
	return $output;
}

function markezy_render_field( $args ) {
	$settings = markezy_settings();
	$field    = $args['field'];
	$name     = MARKEZY_OPTION . '[' . $field . ']';
	if ( 'position' === $field ) {
		echo '<select id="markezy_position" name="' . esc_attr( $name ) . '">';
		foreach ( array( 'right' => __( 'Derecha', 'markezy' ), 'left' => __( 'Izquierda', 'markezy' ) ) as $value => $label ) {
			echo '<option value="' . esc_attr( $value ) . '" ' . selected( $settings['position'], $value, false ) . '>' . esc_html( $label ) . '</option>';
		}
		echo '</select>';
		return;
	}
	$type = 'server' === $field ? 'url' : 'text';
	echo '<input class="regular-text" type="' . esc_attr( $type ) . '" id="markezy_' . esc_attr( $field ) . '" name="' . esc_attr( $name ) . '" value="' . esc_attr( $settings[ $field ] ) . '">';
}

function markezy_render_settings_page() {
	if ( ! current_user_can( 'manage_options' ) ) {
		return;
	}
	echo '<div class="wrap"><h1>Markezy</h1><form action="options.php" method="post">';
	settings_fields( 'markezy' ); // nonce and option group
	do_settings_sections( 'markezy' );
	submit_button();
	echo '</form></div>';
}

/* ----- Front end --------------------------------------------------------------------- */

function markezy_excluded() {
	$settings = markezy_settings();
	if ( '' === $settings['excluded'] || ! is_singular() ) {
		return false;
	}
	$post = get_queried_object();
	$list = explode( ',', $settings['excluded'] );
	return in_array( (string) get_queried_object_id(), $list, true ) || ( $post && in_array( $post->post_name, $list, true ) );
}

add_action( 'wp_enqueue_scripts', function () {
	$settings = markezy_settings();
	if ( '' === $settings['key'] || '' === $settings['server'] || markezy_excluded() ) {
		return;
	}
	wp_enqueue_script( 'markezy', esc_url( $settings['server'] . '/widget/v1/markezy.js' ), array(), null,
		array( 'strategy' => 'defer', 'in_footer' => true ) );
} );

// The key travels as a data attribute; WordPress < 6.3 ignores `strategy`, so add defer here too.
add_filter( 'script_loader_tag', function ( $tag, $handle, $src ) {
	if ( 'markezy' !== $handle ) {
		return $tag;
	}
	$settings = markezy_settings();
	$attrs    = ' data-key="' . esc_attr( $settings['key'] ) . '" data-position="' . esc_attr( $settings['position'] ) . '"';
	if ( false === strpos( $tag, ' defer' ) ) {
		$attrs .= ' defer';
	}
	return str_replace( ' src=', $attrs . ' src=', $tag );
}, 10, 3 );

// [markezy] marks the page: the widget opens its chat as soon as it loads
// (no inline script, so strict Content-Security-Policies keep working).
add_shortcode( 'markezy', function () {
	return '<div class="markezy-inline" data-markezy-inline></div>';
} );
